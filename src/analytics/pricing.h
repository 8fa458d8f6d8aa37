/* Model prices: a table of model names or glob patterns (optionally per provider) to US
 * dollars per million input, output, cache-read and cache-write tokens, each entry with an
 * effective date. A default table for common models is built in (from the shipped file
 * config/prices.yaml); a user file (YAML, same shape) is laid over it. Cost is computed
 * from stored token counts whenever it is asked for, so a new price applies to old data. */
#ifndef OSP_ANALYTICS_PRICING_H
#define OSP_ANALYTICS_PRICING_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

typedef struct osp_price {
    double input, output, cache_read, cache_write; /* USD per million tokens */
} osp_price;

typedef struct osp_price_table osp_price_table;

/* Loads the built-in table with the file at path laid over it (NULL: built-in only). On a
 * bad file: OSP_EPARSE with a message naming the file, line and problem in err. 0,
 * OSP_EPARSE, OSP_EIO, OSP_ENOMEM. */
int osp_price_table_load(const char *path, osp_price_table **out, char *err, size_t errlen);
void osp_price_table_destroy(osp_price_table *t);

/* When the table was loaded from a file that has changed since (mtime or size), loads it
 * again and swaps it in; a bad new file is logged and the old table kept. Cheap to call
 * often (stats the file at most once a second). Thread-safe against lookups. */
void osp_price_table_refresh(osp_price_table *t);

/* The price in force for model (of provider; empty matches any) at t_ms: the entry with the
 * latest effective date not after t_ms among those that match — an exact model name before
 * a pattern, a provider-specific entry before a generic one. 1 found, 0 none. */
int osp_price_lookup(const osp_price_table *t, osp_str provider, osp_str model, int64_t t_ms,
                     osp_price *out);

/* Cost in USD: input are the uncached input tokens (cache reads and writes not included). */
double osp_price_cost(const osp_price *p, double input, double cache_read, double cache_write,
                      double output);

#endif
