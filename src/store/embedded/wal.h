/* Write-ahead log of the embedded store: every appended batch is written here (and
 * fsynced, per policy) before the append is acknowledged, and replayed after a restart.
 *
 * On disk: segment files DIR/<first lsn as 16 lowercase hex digits>.wal. A segment starts
 * with the 8-byte magic "OSPWAL01", then records back to back, each a 24-byte header and
 * its payload (all integers little-endian):
 *   0  u32 length      payload bytes, 1 .. OSP_WAL_MAX_RECORD
 *   4  u32 header_sum  low 32 bits of XXH3_64bits_withSeed(bytes 8..23, seed = length)
 *   8  u64 lsn         log sequence number, strictly increasing through the log
 *  16  u64 payload_sum XXH3_64bits(payload)
 * A record is valid when both sums match and its lsn exceeds the previous valid record's.
 * Recovery: an invalid stretch followed by a valid record is logged (file, offset) and
 * skipped; an invalid tail is cut off when it ends the newest segment (a write torn by a
 * crash: never acknowledged) and logged otherwise. Appends after a restart go to a new
 * segment. Thread-safe: concurrent appends are group-committed. */
#ifndef OSP_STORE_EMBEDDED_WAL_H
#define OSP_STORE_EMBEDDED_WAL_H

#include <stdint.h>

#include "core/str.h"
#include "store/store.h"

#define OSP_WAL_MAGIC "OSPWAL01"
#define OSP_WAL_MAGIC_LEN 8
#define OSP_WAL_HEADER_LEN 24
#define OSP_WAL_MAX_RECORD (256u << 20)

typedef struct osp_wal osp_wal;

typedef struct osp_wal_options {
    const char *dir;                    /* created if missing */
    enum osp_fsync_policy fsync_policy; /* see store.h */
    uint32_t fsync_interval_ms;         /* for OSP_FSYNC_INTERVAL; 0 picks 1000 */
    uint64_t segment_bytes;             /* start a new segment past this; 0 picks 64 MiB */
} osp_wal_options;

/* Receives one replayed record; payload is valid only during the call. A non-zero return
 * stops the replay and becomes osp_wal_open's result. */
typedef int (*osp_wal_replay_fn)(uint64_t lsn, osp_str payload, void *ctx);

/* Opens the log in opt->dir, recovering it as described above and calling fn (may be
 * NULL) for every valid record with lsn > skip_through, in lsn order. New records get
 * lsns above both the log's last record and skip_through. On success *out owns the log
 * (close with osp_wal_close). Returns 0, OSP_EIO (directory or file error), OSP_ENOMEM,
 * or fn's error. */
int osp_wal_open(const osp_wal_options *opt, uint64_t skip_through, osp_wal_replay_fn fn, void *ctx,
                 osp_wal **out);

/* Waits for in-flight appends, syncs (unless the policy is OSP_FSYNC_NEVER), stops the
 * background sync thread and frees w. Safe with NULL. */
void osp_wal_close(osp_wal *w);

/* Appends one record holding payload (not retained) and returns once it is written,
 * and fsynced under OSP_FSYNC_ALWAYS; *lsn receives its sequence number. Returns 0,
 * OSP_EINVAL (empty payload), OSP_ETOOBIG (past OSP_WAL_MAX_RECORD), OSP_ECLOSED, or
 * OSP_EIO (write or sync failure; after a failed sync every later append fails too). */
int osp_wal_append(osp_wal *w, osp_str payload, uint64_t *lsn);

/* Makes the next write start a new segment, so the current one can be deleted by
 * osp_wal_truncate_before once its records are in parts. */
void osp_wal_rotate(osp_wal *w);

/* Deletes every segment whose records all have lsn <= lsn, including the one being
 * written when no append is in progress (the next append then starts a new segment).
 * Returns 0, or OSP_EIO when a file could not be removed (it is kept and retried next
 * time). */
int osp_wal_truncate_before(osp_wal *w, uint64_t lsn);

/* The highest lsn handed out so far (or recovered at open). */
uint64_t osp_wal_last_lsn(osp_wal *w);

#endif
