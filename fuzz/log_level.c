/* libFuzzer target for Loki's level discovery (src/model/loglevel.c, osp_line_level_of, and
 * osp_log_detected_level in src/model/logstream.c). Input: a record's attribute blob up to
 * the first newline (any bytes: corrupt blobs must be refused, not read past), its line
 * after it; the first byte picks Loki or OTLP labels and a severity number. Checks: a line
 * always gets a level; a record's level is never empty and agrees with its metadata list,
 * as does every listed name looked up alone (osp_log_meta_name_value);
 * a level kept for it (osp_log_level_to_keep) is that level, and gives it back without the
 * line. */
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "fuzz_check.h"
#include "model/attr.h"
#include "model/log.h"
#include "model/loglevel.h"
#include "model/logstream.h"
#include "model/series.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    const char *nl = memchr(p, '\n', size);
    osp_str blob = nl ? osp_str_make(p, (size_t)(nl - p)) : OSP_STR_NULL;
    osp_str line = nl ? osp_str_make(nl + 1, size - (size_t)(nl + 1 - p)) : osp_str_make(p, size);
    osp_line_level l = osp_line_level_of(line);
    CHECK(l > OSP_LINE_LEVEL_UNSET && l < OSP_LINE_LEVEL_COUNT);
    CHECK(osp_line_level_of(line) == l);

    osp_log_batch b;
    osp_arena a;
    osp_buf body;
    osp_log_batch_init(&b);
    osp_arena_init(&a, 0, 0);
    osp_buf_init(&body, 0);
    osp_resource *res = osp_log_batch_add_resource(&b);
    osp_log_record *r = osp_log_batch_add_record(&b);
    CHECK(res && r && osp_log_batch_add_scope(&b));
    uint8_t pick = size ? data[0] : 0;
    r->labels_from = pick & 1 ? OSP_LOG_LABELS_ALL : OSP_LOG_LABELS_PROMOTED;
    r->severity_number = pick & 2 ? (int32_t)(pick >> 2) - 8 : 0;
    (pick & 0x80 ? &res->attributes : &r->attributes)[0] = blob;
    osp_value v = {.type = OSP_VAL_STRING, .s = line};
    CHECK(osp_value_put(&body, &v) == 0);
    r->body = osp_buf_str(&body);
    r->has_body = 1;

    osp_str level;
    int rc = osp_log_detected_level(&b, 0, &a, &level);
    CHECK(rc == 0 || rc == OSP_ECORRUPT);
    if (rc == 0) {
        CHECK(level.n > 0);
        osp_label *labels;
        size_t n;
        if (osp_log_metadata(&b, 0, &a, &labels, &n) == 0) {
            CHECK(osp_str_eq(osp_labels_get(labels, n, OSP_STR_LIT("detected_level")), level));
            /* each name looked up alone, twice (the second time past what the first one
             * remembered), gives its listed value */
            for (size_t i = 0; i < n; i++) {
                osp_log_meta_name m;
                osp_str value;
                osp_log_meta_name_init(&m, labels[i].name);
                for (int pass = 0; pass < 2; pass++)
                    CHECK(osp_log_meta_name_value(&m, &b, 0, &a, &value) == 0 &&
                          osp_str_eq(value, labels[i].value));
                osp_log_meta_name_cleanup(&m);
            }
        }
        /* a kept level is the record's, and gives it without the line */
        osp_buf scratch;
        osp_buf_init(&scratch, 0);
        osp_line_level keep = osp_log_level_to_keep(&b, r, &scratch);
        osp_buf_cleanup(&scratch);
        if (keep != OSP_LINE_LEVEL_UNSET) {
            CHECK(osp_str_eqz(level, osp_line_level_name(keep)));
            r->level = (uint8_t)keep;
            r->has_body = 0;
            osp_str again;
            CHECK(osp_log_detected_level(&b, 0, &a, &again) == 0 && osp_str_eq(again, level));
        }
    }
    osp_buf_cleanup(&body);
    osp_arena_cleanup(&a);
    osp_log_batch_cleanup(&b);
    return 0;
}
