/* Line tokenization for the log store's token blooms (rules in logtoken.h). */
#include "store/logs/logtoken.h"

#include <xxhash.h>

uint64_t osp_logtok_token_key(osp_str token)
{
    return XXH3_64bits_withSeed(token.p, token.n, 1);
}

void osp_logtok_line_scan(osp_str line, void (*token)(osp_str tok, void *ctx),
                          void (*trigram)(uint32_t tri, void *ctx), void *ctx)
{
    const uint8_t *s = (const uint8_t *)line.p;
    size_t i = 0, n = line.n;
    while (i < n) {
        while (i < n && !osp_logtok_is_token_byte(s[i]))
            i++;
        size_t start = i;
        uint32_t tri = 0;
        for (; i < n && osp_logtok_is_token_byte(s[i]); i++) {
            tri = (tri << 8 | s[i]) & 0xffffffu;
            if (trigram && i - start >= 2)
                trigram(tri, ctx);
        }
        if (token && i > start)
            token(osp_str_make((const char *)s + start, i - start), ctx);
    }
}

typedef struct key_sink {
    void (*add)(uint64_t key, void *ctx);
    void *ctx;
} key_sink;

static void sink_token(osp_str tok, void *ctx)
{
    const key_sink *k = ctx;
    k->add(osp_logtok_token_key(tok), k->ctx);
}

static void sink_trigram(uint32_t tri, void *ctx)
{
    const key_sink *k = ctx;
    k->add(osp_logtok_trigram_key(tri), k->ctx);
}

void osp_logtok_line_keys(osp_str line, void (*add)(uint64_t key, void *ctx), void *ctx)
{
    key_sink k = {add, ctx};
    osp_logtok_line_scan(line, sink_token, sink_trigram, &k);
}

/* Where needle keys go; needle bounds which tokens are whole. */
typedef struct needle_sink {
    osp_str needle;
    uint64_t *keys;
    size_t n, max;
} needle_sink;

static void needle_token(osp_str tok, void *ctx)
{
    needle_sink *k = ctx;
    /* Whole only when a byte of the needle itself closes it on both sides. */
    if (tok.p > k->needle.p && tok.p + tok.n < k->needle.p + k->needle.n && k->n < k->max)
        k->keys[k->n++] = osp_logtok_token_key(tok);
}

static void needle_trigram(uint32_t tri, void *ctx)
{
    needle_sink *k = ctx;
    if (k->n < k->max)
        k->keys[k->n++] = osp_logtok_trigram_key(tri);
}

size_t osp_logtok_needle_keys(osp_str needle, uint64_t *keys, size_t max)
{
    needle_sink k = {needle, keys, 0, max};
    osp_logtok_line_scan(needle, needle_token, needle_trigram, &k);
    return k.n;
}
