/* libFuzzer target: opening and reading arbitrary bytes as a log part file never crashes,
 * and every read path agrees with the part's own index. Build with
 * -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION so that checksums do not stop mutated inputs
 * before the decoders. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/err.h"
#include "core/mem.h"
#include "model/log.h"
#include "store/logs/logpart.h"
#include "store/logs/logtoken.h"

static volatile size_t sink;

/* A times-only read's row: its stream must lie in the granule's range. */
static int check_time_row(uint32_t stream, uint64_t t_ns, void *ctx)
{
    const osp_logpart_granule *gr = ctx;
    if (stream < gr->first_stream || stream > gr->last_stream)
        abort();
    sink += (size_t)t_ns;
    return 0;
}

/* A run's stream lies in the granule's range and its rows fit in the granule. */
static int check_run(uint32_t stream, uint32_t rows, void *ctx)
{
    const osp_logpart_granule *gr = ctx;
    if (stream < gr->first_stream || stream > gr->last_stream || rows == 0 || rows > gr->rows)
        abort();
    return 0;
}

/* Reads every granule (at most 8) with a few filters, whole, without bodies, times alone
 * and stream runs alone; what a read returns must carry stream numbers inside the
 * granule's range. */
static void exercise(osp_logpart *p)
{
    const osp_logpart_info *info = osp_logpart_get_info(p);
    uint8_t streams[64] = {0}, id[16] = {0};
    uint64_t keys[16];
    osp_log_batch b;
    uint32_t *st = NULL;
    size_t nst = 0, cap = 0;
    for (size_t k = 0; k < info->nstreams && k < 64; k += 2)
        streams[k] = 1;
    osp_logpart_filter filters[] = {
        {0},
        {.streams = info->nstreams <= 64 ? streams : NULL, .start_ns = info->min_time + 1},
        {.trace_id = id, .span_id = id},
        {.keys = keys, .nkeys = osp_logtok_needle_keys(osp_str_c(" GET /api"), keys, 16)},
        {.no_body = 1},
    };
    int got[sizeof filters / sizeof filters[0]];
    for (size_t k = 0; k < info->nstreams; k++) {
        const osp_label *l;
        size_t n;
        uint64_t lo, hi, rows, bytes;
        osp_logpart_stream(p, k, &l, &n);
        osp_logpart_stream_time(p, k, &lo, &hi);
        osp_logpart_stream_size(p, k, &rows, &bytes);
        if (rows > info->nrows)
            abort(); /* open checks the stream row counts */
        sink += n + (size_t)(hi - lo) + (n ? l[n - 1].value.n : 0) + (size_t)bytes;
    }
    osp_log_batch_init(&b);
    for (size_t g = 0; g < info->ngranules && g < 8; g++) {
        const osp_logpart_granule *gr = osp_logpart_granule_at(p, g);
        for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
            osp_logpart_granule_may_match(p, g, &filters[i]);
            nst = 0;
            int n = got[i] = osp_logpart_read_granule(p, g, &filters[i], &b, &st, &nst, &cap);
            if (n > 0 && (size_t)n > gr->rows)
                abort();
            for (size_t r = 0; r < nst; r++)
                if (st[r] < gr->first_stream || st[r] > gr->last_stream)
                    abort();
            osp_log_batch_cleanup(&b);
            osp_log_batch_init(&b);
            int t = osp_logpart_read_times(p, g, &filters[i], check_time_row, (void *)gr);
            if (n >= 0 && t < 0)
                abort(); /* the columns a full read decoded must decode alone */
            int r = osp_logpart_read_runs(p, g, &filters[i], check_run, (void *)gr);
            if (t >= 0 && r < 0 && r != OSP_EINVAL)
                abort(); /* and so must the stream column */
        }
        if (got[0] >= 0 && got[4] != got[0])
            abort(); /* and so must all but the body */
    }
    osp_free(st);
    osp_log_batch_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    osp_logpart *p;
    if (fd < 0) {
        fd = memfd_create("logpart", 0);
        if (fd < 0)
            return 0;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    if (osp_logpart_open(path, &p) == 0) {
        exercise(p);
        osp_logpart_close(p);
    }
    return 0;
}
