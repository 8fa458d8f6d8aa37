/* libFuzzer target for the remote write decoder: any input decodes or fails cleanly; what
 * decodes has every slice inside the arena-held decompressed buffer and only valid labels;
 * decoding again with the accepted series' keys known gives the same series. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "proto/remote_write.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static osp_str raw;

/* The keys of the series the first decode accepted. */
typedef struct keyset {
    const osp_rw_request *req;
} keyset;

static void none_known(void *ctx, const osp_series_key *keys, size_t n, uint64_t *refs)
{
    (void)ctx, (void)keys;
    memset(refs, 0, n * sizeof *refs);
}

static void accepted_known(void *ctx, const osp_series_key *keys, size_t n, uint64_t *refs)
{
    const osp_rw_request *req = ((keyset *)ctx)->req;
    for (size_t i = 0; i < n; i++) {
        refs[i] = 0;
        for (size_t j = 0; j < req->nseries && !refs[i]; j++)
            if (keys[i].lo == req->series[j].key.lo && keys[i].hi == req->series[j].key.hi)
                refs[i] = j + 1;
    }
}

/* Decoding with the accepted keys known gives the same series, labels included. */
static void same_when_known(const uint8_t *data, size_t size, const osp_rw_request *first)
{
    osp_arena arena;
    osp_rw_request req;
    char err[256];
    keyset ks = {first};
    osp_rw_known known = {accepted_known, &ks};
    osp_arena_init(&arena, 0, 64u << 20);
    int rc = osp_remote_write_decode(osp_str_make((const char *)data, size), 4u << 20, &arena,
                                     &known, &req, err, sizeof err);
    if (rc == 0) { /* (out of memory may strike either decode alone) */
        CHECK(req.nseries == first->nseries && req.nrejected == first->nrejected);
        for (size_t i = 0; i < req.nseries; i++) {
            CHECK(osp_labels_compare(req.series[i].labels, req.series[i].nlabels,
                                     first->series[i].labels, first->series[i].nlabels) == 0);
            CHECK(req.series[i].nsamples == first->series[i].nsamples);
        }
    }
    osp_arena_cleanup(&arena);
}

static void inside(osp_str s)
{
    if (s.n)
        CHECK(s.p >= raw.p && s.p + s.n <= raw.p + raw.n);
}

static void check_labels(const osp_label *ls, size_t n, int series)
{
    int has_name = 0;
    for (size_t i = 0; i < n; i++) {
        inside(ls[i].name);
        inside(ls[i].value);
        CHECK(ls[i].name.n > 0 && ls[i].value.n > 0);
        if (series && i > 0)
            CHECK(osp_str_cmp(ls[i - 1].name, ls[i].name) < 0);
        has_name |= osp_str_eqz(ls[i].name, OSP_METRIC_NAME_LABEL);
    }
    CHECK(!series || has_name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osp_arena arena;
    osp_rw_request req;
    char err[256];
    osp_arena_init(&arena, 0, 64u << 20);
    osp_rw_known known = {none_known, NULL};
    int rc = osp_remote_write_decode(osp_str_make((const char *)data, size), 4u << 20, &arena,
                                     &known, &req, err, sizeof err);
    CHECK(rc == 0 || rc == OSP_EPARSE || rc == OSP_ETOOBIG || rc == OSP_ENOMEM);
    CHECK(memchr(err, 0, sizeof err) != NULL);
    if (rc == 0) {
        raw = req.raw;
        CHECK(req.nrejected == 0 || err[0]);
        for (size_t i = 0; i < req.nseries; i++) {
            const osp_rw_series *s = &req.series[i];
            check_labels(s->labels, s->nlabels, 1);
            for (size_t j = 0; j < s->nexemplars; j++)
                check_labels(s->exemplars[j].labels, s->exemplars[j].nlabels, 0);
            for (size_t j = 0; j < s->nhistograms; j++) {
                const osp_rw_histogram *h = &s->histograms[j];
                uint64_t nb = 0;
                for (size_t k = 0; k < h->npos_spans; k++)
                    nb += h->pos_spans[k].length;
                CHECK(nb == h->npos_deltas + h->npos_counts);
            }
        }
        for (size_t i = 0; i < req.nmetadata; i++) {
            inside(req.metadata[i].family);
            inside(req.metadata[i].help);
            inside(req.metadata[i].unit);
        }
        same_when_known(data, size, &req);
    } else {
        CHECK(err[0] && req.nseries == 0 && req.nmetadata == 0);
    }
    osp_arena_cleanup(&arena);
    return 0;
}
