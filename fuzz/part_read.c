/* libFuzzer target: opening and reading arbitrary bytes as a part file never crashes.
 * Build with -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION so that checksums do not stop
 * mutated inputs before the decoders. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/span.h"
#include "store/embedded/part.h"

static void on_hit(const uint8_t trace_id[16], uint64_t newest_start_ns, void *ctx)
{
    (void)trace_id;
    (void)newest_start_ns;
    ++*(size_t *)ctx;
}

static void on_catalogue(osp_str service, osp_str name, int32_t kind, void *ctx)
{
    *(size_t *)ctx += service.n + name.n + (size_t)(kind != 0);
}

/* Runs every read path of an opened part. */
static void exercise(osp_part *p)
{
    const osp_part_info *info = osp_part_get_info(p);
    osp_span_batch b;
    size_t n = 0;
    osp_span_batch_init(&b);
    for (size_t g = 0; g < info->ngranules && g < 8; g++) {
        if (osp_part_read_granule(p, g, &b) > 0) {
            osp_part_get_trace(p, b.spans[0].trace_id, 0, &b);
            osp_part_get_trace(p, b.spans[0].trace_id, OSP_TRACE_NO_DETAIL, &b);
        }
        osp_span_batch_reset(&b);
    }
    uint8_t id[16] = {0};
    osp_part_get_trace(p, id, 0, &b);
    osp_span_batch_cleanup(&b);

    osp_attr_filter f = {OSP_STR_LIT("k"), OSP_STR_LIT("v")};
    osp_trace_query queries[] = {
        {.status = -1},
        {.status = 2, .min_duration_ns = 1, .service = OSP_STR_LIT("s")},
        {.status = -1, .operation = OSP_STR_LIT("op"), .start_ns = info->min_start + 1},
        {.status = -1, .attrs = &f, .nattrs = 1},
    };
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        osp_part_search(p, &queries[i], on_hit, NULL, &n);
    osp_part_catalogue(p, on_catalogue, &n);
}

/* Runs the merge paths: rows copied as encoded into a writer, or read canonically. */
static void merge_away(osp_part *p)
{
    char tmp[128];
    osp_part_writer_options opt = {0};
    osp_part_writer *w;
    osp_part_cursor *c;
    osp_span_batch b;
    snprintf(tmp, sizeof tmp, "%s/osp-fuzz-part-%d.tmp", P_tmpdir, (int)getpid());
    unlink(tmp);
    if (osp_part_writer_create(tmp, &opt, &w) != 0)
        return;
    osp_span_batch_init(&b);
    if (osp_part_cursor_open(p, &c) == 0) {
        for (int i = 0; osp_part_cursor_key(c); i++)
            if ((i % 3 ? osp_part_cursor_copy(c, w) : osp_part_cursor_read(c, &b)) != 0)
                break;
        osp_part_cursor_close(c);
    }
    osp_span_batch_cleanup(&b);
    osp_part_writer_abort(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    osp_part *p;
    if (fd < 0) {
        fd = memfd_create("part", 0);
        if (fd < 0)
            return 0;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return 0;
    if (osp_part_open(path, &p) == 0) {
        exercise(p);
        merge_away(p);
        osp_part_close(p);
    }
    return 0;
}
