/* Line tokenization for the log store's bloom filters: the keys a line puts into a
 * granule's token bloom, and the keys a substring filter (LogQL `|= "needle"`, case
 * sensitive) requires, such that a granule lacking any of them cannot hold a line that
 * contains the needle.
 *
 * A token is a maximal run of bytes in [A-Za-z0-9_] or >= 0x80. A line yields one key per
 * token (osp_logtok_token_key) and, for every token of three bytes or more, one key per
 * trigram inside it (osp_logtok_trigram_key). The two kinds of key are hashed apart, so a
 * token never stands in for a trigram. */
#ifndef OSP_STORE_LOGS_LOGTOKEN_H
#define OSP_STORE_LOGS_LOGTOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

/* Byte classes, by byte: OSP_LOGTOK_TOKEN for the bytes tokens are made of, with
 * OSP_LOGTOK_DIGIT for 0-9. */
enum { OSP_LOGTOK_TOKEN = 1, OSP_LOGTOK_DIGIT = 2 };
extern const uint8_t osp_logtok_class[256];

/* 1 for the bytes tokens are made of. */
static inline int osp_logtok_is_token_byte(uint8_t c)
{
    return osp_logtok_class[c] & OSP_LOGTOK_TOKEN;
}

/* The key of a whole token (XXH3 64 of its bytes, seed 1). */
uint64_t osp_logtok_token_key(osp_str token);

/* The key of the trigram of bytes b0 b1 b2, given packed as b0 << 16 | b1 << 8 | b2: a
 * bijective 64-bit mix of (2 << 24 | tri). */
static inline uint64_t osp_logtok_trigram_key(uint32_t tri)
{
    uint64_t x = (2ull << 24) | (tri & 0xffffffu);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Calls token(tok) for every token of line and trigram(tri) (packed as for
 * osp_logtok_trigram_key) for every trigram inside a token, in line order, duplicates
 * included. Either callback may be NULL. For writers that deduplicate per granule. */
void osp_logtok_line_scan(osp_str line, void (*token)(osp_str tok, void *ctx),
                          void (*trigram)(uint32_t tri, void *ctx), void *ctx);

/* Calls add(key) for every key of line: its token keys and trigram keys, duplicates
 * included. */
void osp_logtok_line_keys(osp_str line, void (*add)(uint64_t key, void *ctx), void *ctx);

/* The keys every line containing needle has: the token key of each token of needle that
 * is bounded on both sides by a non-token byte of needle (so it is a whole token of the
 * line too), and the trigram keys of every token of three bytes or more. Stores at most
 * max keys (duplicates possible) and returns how many it stored; any subset of them is
 * still exact for skipping, so a short array only weakens the filter. */
size_t osp_logtok_needle_keys(osp_str needle, uint64_t *keys, size_t max);

#endif
