/* Snappy-compressed protobuf bodies for decoder tests: a message built with pbbuild.h
 * (begin(), then its fields), snappy-compressed with compress(), as remote write and Loki
 * push bodies are. */
#ifndef OSP_TEST_PBSNAPPY_H
#define OSP_TEST_PBSNAPPY_H

#include <snappy-c.h>
#include <stdlib.h>

#include "proto/pbbuild.h"

/* Snappy-compresses the built message (every nested message closed) into a malloc'd buffer
 * the caller frees, and releases W. */
static inline osp_str compress(void)
{
    osp_str m = body();
    size_t n = snappy_max_compressed_length(m.n);
    char *c = malloc(n);
    assert_non_null(c);
    assert_int_equal(snappy_compress(m.n ? m.p : "", m.n, c, &n), SNAPPY_OK);
    osp_buf_cleanup(&W);
    return osp_str_make(c, n);
}

#endif
