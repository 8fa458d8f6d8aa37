/* Template cases for the template engine's unit tests: a template, the output it must
 * give over some labels, or the error it must fail with. */
#ifndef OSP_TEST_TMPLCASE_H
#define OSP_TEST_TMPLCASE_H

#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "query/logql_eval_int.h"

typedef struct tcase {
    const char *tmpl;
    const char *want; /* the output, or for an error a part of its message */
    int rc;           /* 0, OSP_EPARSE (compiling) or OSP_EEXEC (running) */
} tcase;

/* Releases the regexes t compiled (NULL: none). */
static inline void tmpl_release(osp__lq_tmpl *t)
{
    size_t n = 0;
    osp_re2 *const *re = t ? osp__lq_tmpl_regexes(t, &n) : NULL;
    for (size_t i = 0; i < n; i++)
        osp_re2_cleanup(re[i]);
}

/* Runs each case over labels l[0..nl) with the line "the line" at t_ns; prints every case
 * that fails and returns how many did. */
static inline size_t tmpl_run_cases(const tcase *cases, size_t n, const osp_label *l, size_t nl,
                                    uint64_t t_ns)
{
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        const tcase *c = &cases[i];
        osp_arena a;
        osp__lq_tmpl *t = NULL;
        osp_buf out;
        char err[512] = "";
        osp_arena_init(&a, 0, 0);
        osp_buf_init(&out, 0);
        int rc = osp__lq_tmpl_compile(osp_str_c(c->tmpl), &a, &t, err, sizeof err);
        if (rc == 0)
            rc = osp__lq_tmpl_exec(t, l, nl, OSP_STR_LIT("the line"), t_ns, &out, NULL, err,
                                   sizeof err);
        int ok =
            rc == c->rc && (rc ? strstr(err, c->want) != NULL
                               : out.len == strlen(c->want) &&
                                     (out.len == 0 || memcmp(out.data, c->want, out.len) == 0));
        if (!ok) {
            fprintf(stderr, "case %zu: %s\n  rc %d, got: %.*s%s\n  want: %s\n", i, c->tmpl, rc,
                    (int)out.len, out.data ? out.data : "", err, c->want);
            failed++;
        }
        tmpl_release(t);
        osp_buf_cleanup(&out);
        osp_arena_cleanup(&a);
    }
    return failed;
}

#endif
