/* libFuzzer target: log pattern snapshots (src/analytics/logpattern_snap.c) load into an
 * empty miner without crashing, a damaged one is refused, and what loads snapshots and
 * loads back to the same bytes, and mines on.
 *
 * Input: byte 0 bit 0 set: the rest is the whole snapshot; clear: the rest is the body
 * after the magic, and the target adds the magic and a valid checksum so that mutations
 * reach the decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "analytics/logpattern.h"
#include "core/buf.h"
#include "core/endian.h"
#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* As the unit tests' seeds were taken (tests/unit/analytics/logpattern_snap.c). */
static const osp_logpattern_config config = {.max_children = 3, .nbuckets = 120};

static void check(int ok)
{
    if (!ok)
        abort();
}

static osp_logpattern *make(void)
{
    osp_logpattern *lp = NULL;
    check(osp_logpattern_create(&config, &lp) == 0);
    return lp;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osp_buf in, a, b;
    if (size < 1)
        return 0;
    osp_log_set_level(OSP_LOG_ERROR);
    osp_buf_init(&in, 0);
    if (data[0] & 1) {
        check(osp_buf_append(&in, data + 1, size - 1) == 0);
    } else {
        uint8_t sum[8];
        check(osp_buf_append(&in, "OSPLPAT1", 8) == 0);
        check(osp_buf_append(&in, data + 1, size - 1) == 0);
        osp_put_le64(sum, XXH64(in.data, in.len, 0));
        check(osp_buf_append(&in, sum, 8) == 0);
    }
    osp_logpattern *lp = make();
    if (osp_logpattern_restore(lp, osp_buf_str(&in)) == 0) {
        osp_buf_init(&a, 0);
        osp_buf_init(&b, 0);
        check(osp_logpattern_snapshot(lp, &a) == 0);
        osp_logpattern *again = make();
        check(osp_logpattern_restore(again, osp_buf_str(&a)) == 0);
        check(osp_logpattern_snapshot(again, &b) == 0);
        check(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        uint64_t id;
        check(osp_logpattern_add(again, OSP_STR_LIT("api"), OSP_STR_LIT("open file 7 done in 3ms"),
                                 1700000040ull * 1000000000ull, &id) == 0);
        osp_logpattern_destroy(again);
        osp_buf_cleanup(&a);
        osp_buf_cleanup(&b);
    }
    osp_logpattern_destroy(lp);
    osp_buf_cleanup(&in);
    return 0;
}
