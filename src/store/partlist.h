/* The part set of a time-partitioned store, shared by the trace store
 * (store/embedded/parts.c) and the log store (store/logs/): refcounted references to open
 * parts with what happens to their file on the last release, the list a store serves and
 * readers snapshot, the tiered merge picker and retention by whole days. The list has no
 * lock of its own: the store's mutex guards it (store/embedded/README.md, "The part set"). */
#ifndef OSP_STORE_PARTLIST_H
#define OSP_STORE_PARTLIST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/metrics.h"

/* What becomes of a part's file when its last reference goes. */
enum osp_partref_fate {
    OSP_PARTREF_LIVE,        /* in the list: kept */
    OSP_PARTREF_OBSOLETE,    /* merged away or expired: unlinked on the last release */
    OSP_PARTREF_QUARANTINED, /* moved to the quarantine directory: left there */
};

typedef struct osp_partref osp_partref;

/* How a store's references are made and closed. */
typedef struct osp_partref_type {
    size_t size;                   /* bytes of a reference: sizeof(osp_partref), or of the
                                      store's struct that starts with one */
    void (*close)(osp_partref *r); /* closes r->part and frees what the store added (not r) */
    const char *log_module;        /* the store's module name in log lines */
} osp_partref_type;

/* What the list knows of a part, from its header. */
typedef struct osp_partref_info {
    uint32_t day; /* partition: days since the epoch (UTC) */
    uint64_t seq;
    uint64_t rows;
    uint64_t min_time, max_time; /* time range of the rows (span start, log record time) */
    uint64_t bytes;              /* file size */
    uint64_t wal_lsn;            /* highest WAL sequence number of the rows */
    const uint64_t *replaces;    /* seqs of the parts it was merged from (owned by the part) */
    size_t nreplaces;
} osp_partref_info;

/* An open part; refcounted (the list holds one reference, each reader snapshot one more). */
struct osp_partref {
    const osp_partref_type *type;
    void *part; /* the store's open part */
    char *path;
    osp_partref_info info;
    atomic_int refs;
    atomic_int fate; /* enum osp_partref_fate */
};

/* Wraps an open part in a new reference of type->size zeroed bytes (count 1, owned by the
 * caller). Takes part and path on success only (the last release closes and frees them).
 * 0 or OSP_ENOMEM. */
int osp_partref_create(const osp_partref_type *type, void *part, char *path,
                       const osp_partref_info *info, osp_partref **out);

/* Adds a reference to r; returns r. */
osp_partref *osp_partref_acquire(osp_partref *r);

/* Drops one reference (NULL: nothing); the last closes the part, unlinks the file of an
 * obsolete one (a failure other than ENOENT is logged) and frees r. */
void osp_partref_release(osp_partref *r);

/* Marks r obsolete and drops the caller's reference: for a part out of the list (or never
 * in it) whose file must go once no reader holds it. */
void osp_partref_discard(osp_partref *r);

/* The parts a store serves. Fields are read under the store's lock. */
typedef struct osp_partlist {
    osp_partref **a;
    size_t n, cap;
    uint64_t max_lsn;              /* highest wal_lsn of the parts pushed (the store may
                                      raise it further) */
    osp_metric *m_parts, *m_bytes; /* gauges kept at the parts served and their bytes */
} osp_partlist;

/* An empty list whose pushes and removes move the two gauges. */
void osp_partlist_init(osp_partlist *l, osp_metric *m_parts, osp_metric *m_bytes);

/* Takes every part out of the list (gauges too) and drops the list's references. */
void osp_partlist_cleanup(osp_partlist *l);

/* Makes room to push `more` parts without failing. 0 or OSP_ENOMEM. Under the lock. */
int osp_partlist_reserve(osp_partlist *l, size_t more);

/* Appends r, whose reference the list takes over, and raises max_lsn to its wal_lsn.
 * 0 or OSP_ENOMEM (r still the caller's); cannot fail after osp_partlist_reserve. Under
 * the lock. */
int osp_partlist_push(osp_partlist *l, osp_partref *r);

/* Removes r from the list (the last entry takes its place), giving the list's reference
 * to the caller. 1 if it was there, else 0. Under the lock. */
int osp_partlist_remove(osp_partlist *l, osp_partref *r);

/* A reader's view: *out = the parts in the list now, each acquired, *n of them. 0, or
 * OSP_ENOMEM with *out NULL and *n 0. Under the lock. */
int osp_partlist_snapshot(const osp_partlist *l, osp_partref ***out, size_t *n);

/* Releases a snapshot's references and frees its array (NULL: nothing). */
void osp_partlist_snapshot_release(osp_partref **a, size_t n);

/* 1 when a part of the list is in day. An osp_partdir_day_fn (store/partdir.h) with ctx the
 * list. Under the lock. */
int osp_partlist_day_used(void *ctx, uint32_t day);

/* At open: raises *next_seq past every seq a part lists as merged into it, and removes
 * (unlinking their files) the parts another part replaces. They survive only a crash
 * between a merge's publish and its unlinks, and their rows are in the merged part. */
void osp_partlist_drop_replaced(osp_partlist *l, uint64_t *next_seq);

/* Takes r out of service holding lock: if it is still in the list, removes it, marks it
 * quarantined, moves its file into qdir (osp_partdir_quarantine, logged as a "<what>")
 * and drops the list's reference; readers that hold r finish with their own. 1 when this
 * call quarantined it (for the caller's counters), 0 when it was gone already. */
int osp_partlist_quarantine(osp_partlist *l, pthread_mutex_t *lock, osp_partref *r,
                            const char *qdir, const char *what);

/* Swaps merged part out in for its inputs in[0..k) in one step holding lock; the inputs
 * still in the list are marked obsolete and released after it, so their files go once no
 * reader holds them. 0, or OSP_ENOMEM with the list unchanged and out discarded. Takes
 * out's reference either way. */
int osp_partlist_replace(osp_partlist *l, pthread_mutex_t *lock, osp_partref *out, osp_partref **in,
                         size_t k);

/* Retention holding lock: takes the whole days whose newest row (max_time) is older than
 * now_ns - retention_ns out of the list (logged as "<what> <yyyymmdd> is past the
 * retention") and discards their parts; their files go when the last reader lets go.
 * retention_ns 0 keeps everything. Returns the number of parts taken out. */
size_t osp_partlist_expire(osp_partlist *l, pthread_mutex_t *lock, uint64_t retention_ns,
                           uint64_t now_ns, const char *what);

/* Tiered merge policy (not part of any format). A part's tier is how many times fanin
 * divides its rows over base_rows; parts of more than max_rows / 2 rows are not merged
 * again. Once a day holds min_parts parts of one tier, the oldest of them (by min_time),
 * up to max_parts and max_rows rows in all, are merged into one. */
typedef struct osp_merge_policy {
    uint64_t base_rows;
    uint64_t fanin;
    size_t min_parts, max_parts;
    uint64_t max_rows;
} osp_merge_policy;

/* Picks the parts to merge next from a[0..n), using only each part's day, rows and
 * min_time: the oldest parts of the lowest tier of the first day (oldest first) that holds
 * policy->min_parts of one tier, as many as fit in max_parts and max_rows, at least two.
 * Sorts a by (day, tier, min_time). Returns how many, k (0: nothing to merge), with
 * *first such that a[*first .. *first + k) are they. */
size_t osp_partlist_pick_merge(const osp_merge_policy *policy, osp_partref **a, size_t n,
                               size_t *first);

/* How far merges are behind: the most parts one day of l holds that the policy would
 * still merge (those of max_rows / 2 rows or fewer). A store's flusher waits while this
 * passes its bound, so that under a load that never lets merges run the parts cannot pile
 * up without end. Under the lock. */
#define OSP_DEFAULT_MERGE_BACKLOG 128 /* the bound stores use unless told otherwise */
size_t osp_partlist_merge_backlog(const osp_merge_policy *policy, const osp_partlist *l);

/* 1 when the backlog passes max, so the store's flusher waits for merges; *waiting keeps
 * the last answer, and a change is logged in module log_module. Under the lock. */
int osp_partlist_merges_behind(const osp_merge_policy *policy, const osp_partlist *l, size_t max,
                               int *waiting, const char *log_module);

#endif
