/* libFuzzer target for the LogQL parser: no crash, a failure always says why, and
 * formatting is a fixed point (parse, format, re-parse the output, format again: identical
 * text). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "fuzz_check.h"
#include "query/logql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osp_arena a;
    osp_logql_expr *e = NULL, *e2 = NULL;
    osp_buf b1, b2;
    char err[256];
    osp_arena_init(&a, 0, 64u << 20);
    osp_buf_init(&b1, 0);
    osp_buf_init(&b2, 0);
    int rc = osp_logql_parse(osp_str_make((const char *)data, size), &a, &e, err, sizeof err);
    CHECK(rc == 0 || rc == OSP_EPARSE || rc == OSP_ENOMEM);
    if (rc == 0) {
        CHECK(e != NULL);
        CHECK(osp_logql_format(e, &b1) == 0);
        rc = osp_logql_parse(osp_buf_str(&b1), &a, &e2, err, sizeof err);
        /* The printer parenthesizes every binary expression, so input just under the nesting
         * limit may format to text just over it. */
        if (rc == OSP_EPARSE && strstr(err, "nested too deeply"))
            goto out;
        if (rc != 0) {
            fprintf(stderr, "formatted text does not parse: %.*s\n%s\n", (int)b1.len, b1.data, err);
            abort();
        }
        CHECK(e2->kind == e->kind);
        CHECK(osp_logql_format(e2, &b2) == 0);
        if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0) {
            fprintf(stderr, "format not stable:\n%.*s\n%.*s\n", (int)b1.len, b1.data, (int)b2.len,
                    b2.data);
            abort();
        }
    } else {
        CHECK(err[0] != 0);
    }
out:
    osp_buf_cleanup(&b1);
    osp_buf_cleanup(&b2);
    osp_arena_cleanup(&a);
    return 0;
}
