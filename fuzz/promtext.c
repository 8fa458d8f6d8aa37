/* libFuzzer target for the Prometheus text / OpenMetrics parser: any input, in both formats
 * and under tight and default limits, parses to the end or fails cleanly with a message; every
 * slice lies in the input or (unescaped text) is fully readable arena memory. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "proto/promtext.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

/* s lies inside the input, or entirely outside it and readable (ASan checks each byte). */
static void check_slice(osp_str s, const char *in, size_t n)
{
    if (s.n == 0)
        return;
    CHECK(s.p != NULL);
    if (s.p >= in && s.p < in + n) {
        CHECK(s.n <= (size_t)(in + n - s.p));
        return;
    }
    CHECK(s.p + s.n <= in || s.p >= in + n);
    unsigned x = 0;
    for (size_t i = 0; i < s.n; i++)
        x += (unsigned char)s.p[i];
    sink += x;
}

static void check_labels(const osp_label *l, size_t nl, size_t max, const char *in, size_t n)
{
    CHECK(nl <= max);
    for (size_t i = 0; i < nl; i++) {
        CHECK(l[i].name.n > 0);
        check_slice(l[i].name, in, n);
        check_slice(l[i].value, in, n);
        /* Names come straight from the input, never unescaped. */
        CHECK(l[i].name.p >= in && l[i].name.p + l[i].name.n <= in + n);
        for (size_t j = 0; j < i; j++)
            CHECK(!osp_str_eq(l[i].name, l[j].name));
    }
}

static void run(const char *in, size_t n, osp_promtext_format fmt, size_t max_line,
                size_t max_labels)
{
    osp_arena arena;
    osp_arena_init(&arena, 4096, 0);
    osp_promtext p;
    osp_promtext_entry e;
    osp_promtext_init(&p, osp_str_make(in, n), fmt, &arena, max_line, max_labels);
    size_t last_line = 0;
    int rc;
    while ((rc = osp_promtext_next(&p, &e)) == 1) {
        CHECK(e.line > last_line || (e.line == last_line && e.line == 0));
        last_line = e.line;
        check_slice(e.name, in, n);
        check_slice(e.text, in, n);
        if (e.kind == OSP_PROMTEXT_SAMPLE) {
            CHECK(e.name.n > 0 && e.name.p >= in && e.name.p + e.name.n <= in + n);
            check_labels(e.labels, e.nlabels, p.max_labels, in, n);
            if (e.has_exemplar) {
                CHECK(fmt == OSP_PROMTEXT_OPENMETRICS);
                check_labels(e.exemplar.labels, e.exemplar.nlabels, p.max_labels, in, n);
            }
        } else if (e.kind == OSP_PROMTEXT_TYPE) {
            CHECK(strcmp(osp_promtext_type_name(e.type), "?") != 0);
        } else {
            CHECK(e.kind == OSP_PROMTEXT_HELP || e.kind == OSP_PROMTEXT_UNIT ||
                  (e.kind == OSP_PROMTEXT_COMMENT && fmt == OSP_PROMTEXT_PROM));
        }
    }
    if (rc == 0) {
        CHECK(e.kind == OSP_PROMTEXT_EOF && p.err[0] == '\0');
    } else {
        CHECK(rc == OSP_EPARSE || rc == OSP_ETOOBIG || rc == OSP_ENOMEM);
        CHECK(strncmp(p.err, "line ", 5) == 0);
    }
    CHECK(osp_promtext_next(&p, &e) == rc);
    osp_arena_cleanup(&arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    run(in, size, OSP_PROMTEXT_PROM, 0, 0);
    run(in, size, OSP_PROMTEXT_OPENMETRICS, 0, 0);
    run(in, size, OSP_PROMTEXT_PROM, 64, 3);
    run(in, size, OSP_PROMTEXT_OPENMETRICS, 64, 3);
    return 0;
}
