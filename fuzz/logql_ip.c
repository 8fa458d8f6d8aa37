/* libFuzzer target for LogQL's ip() (src/query/logql_ip.c): the pattern parser, and the
 * search for addresses in a text. Input: the pattern up to the first newline, the text
 * after it. Checks: no crash; a parsed pattern's range is in order; a space put before the
 * text changes nothing (candidates start at the same bytes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/logql_ip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *nl = memchr(p, '\n', size);
    size_t np = nl ? (size_t)(nl - p) : size;
    osp_logql_ip ip;
    if (osp_logql_ip_parse(osp_str_make(p, np), &ip) != 0)
        return 0;
    if (memcmp(ip.lo, ip.hi, ip.v6 ? 16 : 4) > 0)
        abort();
    osp_str text = nl ? osp_str_make(nl + 1, size - np - 1) : osp_str_make("", 0);
    int found = osp_logql_ip_find(&ip, text);
    char *spaced = malloc(text.n + 1);
    if (!spaced)
        return 0;
    spaced[0] = ' ';
    memcpy(spaced + 1, text.p, text.n);
    if (osp_logql_ip_find(&ip, osp_str_make(spaced, text.n + 1)) != found)
        abort();
    free(spaced);
    return 0;
}
