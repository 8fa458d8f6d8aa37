/* libFuzzer target for the price table: any bytes as a user price file load or fail with
 * a NUL-terminated message naming the file; a loaded table answers lookups (its patterns
 * matched against fixed names) and is freed without leaks. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/pricing.h"
#include "core/err.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Models looked up in every loaded table. */
static const char *const models[] = {"gpt-4o-mini", "acme/claude-3-5-sonnet-20241022", "a", "x*y",
                                     ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[4200];
    char err[512];
    osp_price_table *t = NULL;
    if (!path[0])
        snprintf(path, sizeof path, "%s/prices.yaml", fuzz_scratch_dir("price_table"));
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    memset(err, 'x', sizeof err);
    int rc = osp_price_table_load(path, &t, err, sizeof err);
    if (rc != 0) {
        if (!memchr(err, '\0', sizeof err) || (rc == OSP_EPARSE && !strstr(err, "prices.yaml")))
            abort();
        return 0;
    }
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        osp_price p;
        if (osp_price_lookup(t, OSP_STR_LIT("openai"), osp_str_c(models[i]), INT64_MAX / 2, &p) &&
            !(p.input >= 0 && p.output >= 0 && p.cache_read >= 0 && p.cache_write >= 0))
            abort();
    }
    osp_price_table_destroy(t);
    return 0;
}
