/* libFuzzer target for the scrape configuration and file_sd parsers: any input parses or
 * fails with a NUL-terminated message; a parsed configuration is freed without leaks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "scrape/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    osp_scrape_config *cfg = NULL;
    memset(err, 'x', sizeof err);
    int rc = osp_scrape_config_parse("fuzz.yaml", (const char *)data, size, &cfg, err, sizeof err);
    if (rc == 0)
        osp_scrape_config_destroy(cfg);
    else if (!memchr(err, '\0', sizeof err))
        abort();
    for (int json = 0; json <= 1; json++) {
        osp_arena arena;
        osp_target_group *groups;
        size_t n;
        osp_arena_init(&arena, 0, 0);
        osp_file_sd_parse("fuzz.sd", (const char *)data, size, json, &arena, &groups, &n, err,
                          sizeof err);
        osp_arena_cleanup(&arena);
    }
    return 0;
}
