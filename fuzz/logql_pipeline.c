/* libFuzzer target for the LogQL pipeline's own parsers: the Go template subset of
 * line_format/label_format (compiled, and run when it compiles), and the json, json
 * field, logfmt, unpack, pattern and decolorize stages on a log line. Input: the template
 * (also the pattern and a field expression) up to the first newline, the line after it.
 * Checks: no crash, no leak, a refused template always says why, and every stage leaves
 * the entry's labels with non-empty names and its line inside the arena or the input.
 * Every extracted value, and the first line, also goes through field type detection
 * and the values list's byte sizes (query/logdetect.h), and the names a template reads
 * are not empty. The json stage tells each label's keys: at least one, the label set. The pattern
 * also runs as a line filter (|>): a line it matches holds each of its literals. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "fuzz_check.h"
#include "query/logdetect.h"
#include "query/logql_eval_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A name a template reads is a field name: never empty. */
static void check_name(osp_str name, void *ctx)
{
    (void)ctx;
    CHECK(name.n > 0);
}

/* osp__lq_json_path_fn: a label JSON parsing set has a name, is set, and has keys. */
static int check_path(void *ctx, osp_str label, const osp_str *keys, size_t nkeys)
{
    const osp__lq_entry *e = ctx;
    int found;
    CHECK(label.n > 0 && nkeys > 0 && keys != NULL);
    osp__lq_get(e, label, &found);
    CHECK(found);
    return 0;
}

static void check_entry(const osp__lq_entry *e)
{
    for (size_t i = 0; i < e->n; i++) {
        osp_str listed;
        CHECK(e->l[i].name.n > 0);
        CHECK(osp_field_type_of(e->l[i].value) <= OSP_FIELD_BYTES);
        CHECK(osp_field_list_value(e->arena, e->l[i].value, &listed) != 0 || listed.n > 0 ||
              e->l[i].value.n == 0);
    }
    CHECK(e->line.p != NULL || e->line.n == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const osp_label stream[] = {{OSP_STR_LIT("app"), OSP_STR_LIT("api")},
                                       {OSP_STR_LIT("level"), OSP_STR_LIT("info")}};
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    osp_str head = osp_str_make(in, nl ? (size_t)(nl - in) : size);
    osp_str line = nl ? osp_str_make(nl + 1, size - head.n - 1) : OSP_STR_LIT("");
    osp_arena a;
    osp__lq_tmpl *t = NULL;
    osp__lq_pattern *pat = NULL;
    osp__lq_entry e;
    char err[256];
    osp_arena_init(&a, 0, 64u << 20);
    err[0] = 0;
    int rc = osp__lq_tmpl_compile(head, &a, &t, err, sizeof err);
    CHECK(rc == 0 || rc == OSP_EPARSE || rc == OSP_ENOMEM);
    CHECK(rc == 0 || rc == OSP_ENOMEM || err[0] != 0);
    if (rc == 0) {
        osp_buf out;
        osp_buf_init(&out, OSP__LQ_TMPL_MAX);
        osp__lq_tmpl_names(t, check_name, NULL);
        rc = osp__lq_tmpl_exec(t, stream, 2, line, 1700000000123456789ull, &out, NULL, err,
                               sizeof err);
        CHECK(rc == 0 || rc == OSP_EEXEC || rc == OSP_ENOMEM);
        osp_buf_cleanup(&out);
        size_t nre;
        osp_re2 *const *re = osp__lq_tmpl_regexes(t, &nre);
        for (size_t i = 0; i < nre; i++)
            osp_re2_cleanup(re[i]);
    }
    CHECK(osp_field_type_of(head) <= OSP_FIELD_BYTES);
    osp_logql_extract x = {OSP_STR_LIT("f"), head, 0};
    for (int stage = 0; stage < 7; stage++) {
        if (osp__lq_entry_init(&e, &a, stream, 2, NULL, 0, line, 1) != 0)
            break;
        switch (stage) {
        case 0:
            rc = osp__lq_json_paths(&e, check_path, &e);
            break;
        case 1:
            rc = head.n ? osp__lq_json_fields(&e, &x, 1) : 0;
            break;
        case 2:
            rc = osp__lq_logfmt(&e, NULL, 0, OSP_LOGQL_LOGFMT_KEEP_EMPTY);
            break;
        case 3:
            rc = osp__lq_logfmt(&e, NULL, 0, OSP_LOGQL_LOGFMT_STRICT);
            break;
        case 4:
            rc = osp__lq_unpack(&e);
            break;
        case 5:
            rc = osp__lq_decolorize(&e);
            break;
        default:
            rc = osp__lq_pattern_compile(head, &a, &pat);
            if (rc == 0)
                rc = osp__lq_pattern_run(pat, &e);
        }
        CHECK(rc == 0 || rc == OSP_ENOMEM);
        check_entry(&e);
    }
    /* as a pattern line filter: a line it matches holds every literal (what a query pushes
     * down to the store as needles) */
    if (pat && osp__lq_pattern_test(pat, line)) {
        osp_str lits[16];
        size_t n = osp__lq_pattern_literals(pat, lits, 16);
        for (size_t i = 0; i < n && i < 16; i++)
            CHECK(lits[i].n > 0 && memmem(line.p, line.n, lits[i].p, lits[i].n) != NULL);
    }
    osp_arena_cleanup(&a);
    return 0;
}
