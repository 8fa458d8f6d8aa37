/* Line tokenization for the log store's token blooms (rules in logtoken.h). */
#include "store/logs/logtoken.h"

#include <xxhash.h>

#define T OSP_LOGTOK_TOKEN
#define D (OSP_LOGTOK_TOKEN | OSP_LOGTOK_DIGIT)
#define T8 T, T, T, T, T, T, T, T
#define T16 T8, T8
#define T64 T16, T16, T16, T16

const uint8_t osp_logtok_class[256] = {
    ['0'] = D, ['1'] = D, ['2'] = D, ['3'] = D, ['4'] = D, ['5'] = D, ['6'] = D, ['7'] = D,
    ['8'] = D, ['9'] = D, ['_'] = T, ['A'] = T, ['B'] = T, ['C'] = T, ['D'] = T, ['E'] = T,
    ['F'] = T, ['G'] = T, ['H'] = T, ['I'] = T, ['J'] = T, ['K'] = T, ['L'] = T, ['M'] = T,
    ['N'] = T, ['O'] = T, ['P'] = T, ['Q'] = T, ['R'] = T, ['S'] = T, ['T'] = T, ['U'] = T,
    ['V'] = T, ['W'] = T, ['X'] = T, ['Y'] = T, ['Z'] = T, ['a'] = T, ['b'] = T, ['c'] = T,
    ['d'] = T, ['e'] = T, ['f'] = T, ['g'] = T, ['h'] = T, ['i'] = T, ['j'] = T, ['k'] = T,
    ['l'] = T, ['m'] = T, ['n'] = T, ['o'] = T, ['p'] = T, ['q'] = T, ['r'] = T, ['s'] = T,
    ['t'] = T, ['u'] = T, ['v'] = T, ['w'] = T, ['x'] = T, ['y'] = T, ['z'] = T, [0x80] = T64,
    T64, /* 0x80..0xff */
};

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
