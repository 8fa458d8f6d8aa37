/* Known series keys: osp_series_key (a label set as a sender encoded it) -> series id.
 *
 * A receiver that hashes the bytes carrying a series' labels can ask here whether those
 * exact bytes were stored before, and skip both label validation and the index lookup for
 * them: the index compares every label string, this compares one fingerprint. Entries are
 * added once a keyed series has an id, dropped with their series (series ids are never
 * reused, so an entry never points at another set), and capped by the caller so that senders
 * encoding one label set many ways cannot grow the map without bound. Thread-safe: lookups share a
 * read lock, adds take the write lock. */
#ifndef OSP_STORE_TSDB_KEYMAP_H
#define OSP_STORE_TSDB_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

#include "model/series.h"

typedef struct osp_keymap osp_keymap;

/* 0 or OSP_ENOMEM. */
int osp_keymap_create(osp_keymap **out);
void osp_keymap_destroy(osp_keymap *m);

/* ids[i] = the id stored for keys[i], or UINT64_MAX (unknown, or the zero key). */
void osp_keymap_lookup(osp_keymap *m, const osp_series_key *keys, size_t n, uint64_t *ids);

/* Adds key -> id for each of the n pairs not yet present, while the map holds fewer than
 * max entries; zero keys and ids above UINT32_MAX - 1 are skipped. 0 or OSP_ENOMEM (the
 * map is unchanged past the first pair that did not fit). */
int osp_keymap_add(osp_keymap *m, const osp_series_key *keys, const uint64_t *ids, size_t n,
                   size_t max);

/* Drops the entries whose id is below n with gone[id] set. When out of memory for the
 * smaller table it drops every entry instead (the map only saves lookups). */
void osp_keymap_drop(osp_keymap *m, const uint8_t *gone, size_t n);

/* Entries held, and heap bytes of the table. */
size_t osp_keymap_count(osp_keymap *m);
size_t osp_keymap_bytes(osp_keymap *m);

#endif
