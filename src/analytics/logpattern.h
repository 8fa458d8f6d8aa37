/* Online log pattern mining: clusters log messages, one at a time and per service, into
 * templates such as "user <*> logged in from <*>", and counts them over time.
 *
 * This is Osprey's own implementation of the Drain algorithm (He et al., "Drain: An Online
 * Log Parsing Approach with Fixed Depth Tree", ICWS 2017); src/analytics/README.md explains
 * the algorithm, the variable-token rules, the similarity measure, the defaults and the
 * bounds. In short: a message is split on whitespace, tokens that are obviously variable
 * (numbers, hex, durations and sizes, IPv4 addresses, UUIDs, long hex ids, the value of
 * key=value) become "<*>", and a fixed-depth tree (token count, then the first depth - 2
 * tokens) leads to a leaf whose most similar template the message joins, or a new template
 * is made.
 *
 * Templates live in memory; a snapshot (osp_logpattern_save, below) keeps them, with their
 * ids and counts, across a restart.
 *
 * Thread safety: every function may be called from several threads at once, except
 * destroy. Each service has its own mutex (mining of different services runs in parallel)
 * and a miner-wide read-write lock guards the table of services; tokenizing happens
 * outside both. */
#ifndef OSP_ANALYTICS_LOGPATTERN_H
#define OSP_ANALYTICS_LOGPATTERN_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/str.h"

typedef struct osp_logpattern osp_logpattern;

/* The text that stands for a variable in templates. */
#define OSP_LOGPATTERN_WILDCARD "<*>"

/* Limits and knobs. Zero in any field picks its default (shown in brackets). */
typedef struct osp_logpattern_config {
    unsigned depth;         /* tree depth: token count level, depth - 2 prefix tokens, then
                             * the leaf; 3..16 [4] */
    double sim_threshold;   /* least similarity to join a template, in (0, 1] [0.4] */
    unsigned max_children;  /* named children per tree node; past it tokens take the
                             * wildcard branch [100] */
    unsigned max_templates; /* templates per service; past it, messages that match none
                             * count as the service's "other" [1000] */
    unsigned max_services;  /* services; messages of further services are only counted
                             * in stats.dropped [1000] */
    uint64_t max_total;     /* templates over all services, the memory bound [20000] */
    size_t max_message;     /* bytes of a message mined; the rest is cut off [4096] */
    uint64_t bucket_ns;     /* width of a count bucket [60 s] */
    unsigned nbuckets;      /* buckets kept per template, a ring [1440: 24 h at 60 s] */
    uint64_t new_window_ns; /* a template first seen this close to a query's end is new
                             * [10 min] */
} osp_logpattern_config;

/* Fills cfg with the defaults. */
void osp_logpattern_config_init(osp_logpattern_config *cfg);

/* Creates an empty miner. cfg may be NULL (defaults); it is copied. Returns 0, OSP_EINVAL
 * when a field is out of range (depth outside 3..16, threshold outside (0, 1], more than
 * 2^20 services, max_message over 1 GiB) or OSP_ENOMEM; *out is set only on success. */
int osp_logpattern_create(const osp_logpattern_config *cfg, osp_logpattern **out);
/* Frees the miner and everything it holds. NULL is a no-op. No call may be running. */
void osp_logpattern_destroy(osp_logpattern *lp);

/* Mines one message of service (may be empty: the unnamed service) seen at time_ns. The
 * message is borrowed for the call only; the miner copies what it keeps. *id (may be NULL)
 * gets the id of the template the message joined or created, or 0 when it joined none: an
 * empty or whitespace-only message (counted in stats.empty), a message counted as its
 * service's "other" (template cap reached), or one of a service past max_services.
 * Returns 0 or OSP_ENOMEM (the message is then counted nowhere). */
int osp_logpattern_add(osp_logpattern *lp, osp_str service, osp_str message, uint64_t time_ns,
                       uint64_t *id);

/* Sequence number of the newest template: templates are numbered 1, 2, ... in creation
 * order over the whole miner (0: none yet). Poll it and query with after_seq set to the
 * last value seen to get only the templates created since. */
uint64_t osp_logpattern_seq(osp_logpattern *lp);

typedef struct osp_logpattern_query {
    osp_str service;    /* OSP_STR_NULL (p == NULL) for every service; a non-NULL empty
                         * slice is the unnamed service */
    uint64_t start_ns;  /* range, inclusive, widened to whole buckets; at most nbuckets */
    uint64_t end_ns;    /* buckets ending at end_ns's bucket are counted */
    uint64_t after_seq; /* only templates with seq > after_seq (0: all) */
    size_t limit;       /* most rows returned, the highest counts (0: all) */
} osp_logpattern_query;

typedef struct osp_logpattern_row {
    uint64_t id;             /* stable: assigned at creation, kept as the text generalizes */
    uint64_t seq;            /* creation order, see osp_logpattern_seq */
    osp_str service;         /* NUL-terminated, in the caller's arena */
    osp_str text;            /* the template, tokens joined by one space, "<*>" for
                              * variables; NUL-terminated, in the caller's arena */
    uint64_t count;          /* messages in the query's buckets */
    uint64_t total;          /* messages since creation, including those out of the ring */
    uint64_t first_seen_ns;  /* earliest message time */
    uint64_t last_seen_ns;   /* latest message time */
    int is_new;              /* first seen in [end_ns - new_window_ns, end_ns] */
    const uint32_t *buckets; /* count per bucket, result.nbuckets of them, oldest first */
} osp_logpattern_row;

typedef struct osp_logpattern_result {
    osp_logpattern_row *rows; /* by count descending, then id ascending */
    size_t nrows;
    uint64_t bucket_ns;       /* width of each bucket */
    uint64_t first_bucket_ns; /* start time of the first bucket */
    size_t nbuckets;          /* buckets per row */
    uint64_t other;           /* "other" messages of the queried services in the buckets */
} osp_logpattern_result;

/* Lists the templates of one service or all with their counts in the range's buckets,
 * leaving out templates with no message there (and, when after_seq is set, those created
 * earlier). The range is widened to whole buckets; when it spans more than nbuckets
 * buckets only the last nbuckets (those ending at end_ns) are counted, since older counts
 * are gone from the rings. Each template is copied under its service's lock, so a row is
 * consistent but rows may differ by messages mined during the query. Everything in *res
 * lives in arena. Returns 0, OSP_EINVAL (start_ns > end_ns) or OSP_ENOMEM (arena full or
 * out of memory; *res is then unspecified). An unknown service gives no rows. */
int osp_logpattern_query_run(osp_logpattern *lp, const osp_logpattern_query *q, osp_arena *arena,
                             osp_logpattern_result *res);

typedef struct osp_logpattern_stats {
    uint64_t services;  /* services known */
    uint64_t templates; /* templates over all services */
    uint64_t messages;  /* messages that joined or created a template */
    uint64_t other;     /* messages counted as some service's "other" */
    uint64_t empty;     /* empty or whitespace-only messages, not mined */
    uint64_t truncated; /* messages cut to max_message before mining */
    uint64_t dropped;   /* messages of services past max_services */
} osp_logpattern_stats;

/* Totals since creation (a snapshot; each counter is read under the lock guarding it). */
void osp_logpattern_stats_get(osp_logpattern *lp, osp_logpattern_stats *st);

/* Splits message (at most max bytes of it, max 0 for no cap) on whitespace and masks
 * variable tokens, as osp_logpattern_add does before mining: writes the masked tokens
 * joined by one space, NUL-terminated, into out (outlen bytes; 3 * the mined length + 1
 * always suffice) and returns the number of tokens; OSP_ETOOBIG when out is too small.
 * For tests and for showing users how a line is read. */
int osp_logpattern_mask(osp_str message, size_t max, char *out, size_t outlen);

/* ---- Snapshots (logpattern_snap.c) ----
 * A snapshot holds every service's templates (text, id, creation seq) and counts. Loaded
 * into an empty miner it gives back the templates, the tree that leads messages to them and
 * the counts, so mining goes on as if there had been no restart. */

/* Appends a snapshot of lp to out. 0 or OSP_ENOMEM. */
int osp_logpattern_snapshot(osp_logpattern *lp, osp_buf *out);

/* Loads a snapshot into lp, which must hold no service yet. 0; OSP_ECORRUPT (not a
 * snapshot: magic, checksum or structure); OSP_EINVAL (taken with another bucket width or
 * bucket count); OSP_ENOMEM. Templates a cap of lp no longer allows are left out. On
 * failure lp may hold part of the snapshot: destroy it. */
int osp_logpattern_restore(osp_logpattern *lp, osp_str data);

/* Writes a snapshot to path: to path.tmp, fsynced, renamed over path, directory fsynced.
 * 0, OSP_EIO (logged), OSP_EINVAL (path too long), OSP_ENOMEM. */
int osp_logpattern_save(osp_logpattern *lp, const char *path);

/* Creates a miner (cfg as for osp_logpattern_create) holding the snapshot at path when
 * there is one. A file that does not load is logged, renamed to path.bad, and the miner
 * starts empty. 0, OSP_EINVAL, OSP_ENOMEM. */
int osp_logpattern_open(const osp_logpattern_config *cfg, const char *path, osp_logpattern **out);

/* Saves lp to path every interval_ms (0: a minute) on a thread of its own when anything
 * was mined since the last save, and once more when stopped. */
typedef struct osp_logpattern_saver osp_logpattern_saver;
int osp_logpattern_saver_start(osp_logpattern *lp, const char *path, uint32_t interval_ms,
                               osp_logpattern_saver **out);
/* Stops the thread and saves a last time (when anything changed). NULL is a no-op. */
void osp_logpattern_saver_stop(osp_logpattern_saver *sv);

#endif
