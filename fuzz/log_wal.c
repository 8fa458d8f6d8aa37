/* Fuzz target: the log store's write-ahead-log payload decoder (store/logs/logcodec.c)
 * accepts or refuses any bytes without reading past them; what it accepts has every
 * index in range, re-encodes, and decodes back to equal records, also when appended after
 * rows already in the batch.
 *
 * Input: the payload bytes, as the log store replays them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "model/log.h"
#include "store/logs/logcodec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osp_log_batch a, b;
    osp_buf enc;
    osp_log_batch_init(&a);
    osp_log_batch_init(&b);
    osp_buf_init(&enc, 0);
    int rc = osp_logcodec_decode(osp_str_make((const char *)data, size), &a);
    if (rc != 0 && rc != OSP_ECORRUPT && rc != OSP_ENOMEM)
        abort();
    if (rc != 0 && (a.nrecords || a.nresources || a.nscopes))
        abort(); /* a refused payload leaves the batch as it was */
    for (size_t i = 0; rc == 0 && i < a.nrecords; i++)
        if (a.records[i].resource >= a.nresources || a.records[i].scope >= a.nscopes)
            abort();
    if (rc == 0 && osp_logcodec_encode(&a, &enc) != 0)
        abort();
    /* Decoded twice into one batch: the second copy's indexes move past the first's. */
    if (rc == 0 && (osp_logcodec_decode(osp_buf_str(&enc), &b) != 0 ||
                    osp_logcodec_decode(osp_buf_str(&enc), &b) != 0))
        abort();
    for (size_t i = 0; rc == 0 && i < a.nrecords; i++)
        if (!osp_log_record_equal(&a, i, &b, i) || !osp_log_record_equal(&a, i, &b, a.nrecords + i))
            abort();
    osp_buf_cleanup(&enc);
    osp_log_batch_cleanup(&a);
    osp_log_batch_cleanup(&b);
    return 0;
}
