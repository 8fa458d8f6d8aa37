/* Names and directories of time-partitioned part files, shared by the trace store
 * (store/embedded/parts.c) and the log store (store/logs/): DIR/<yyyymmdd>/<seq>.part,
 * with <seq> 16 lowercase hex digits and a ".tmp" suffix while a part is being written
 * (constants in store/embedded/format.h); scanning them at open, quarantine, and removing
 * emptied day directories. */
#ifndef OSP_STORE_PARTDIR_H
#define OSP_STORE_PARTDIR_H

#include <pthread.h>
#include <stdint.h>

#include "store/embedded/format.h"

/* The directory name (yyyymmdd, UTC) of day, counted in days since the epoch. */
void osp_partdir_day_name(uint32_t day, char out[OSP_PART_DAY_DIGITS + 1]);

/* 1 with *day when name is a partition directory name (yyyymmdd of a real date), else 0. */
int osp_partdir_parse_day(const char *name, uint32_t *day);

/* 1 with *seq when name is "<16 hex digits>.part", else 0. */
int osp_partdir_parse_part_name(const char *name, uint64_t *seq);

/* 1 when name ends with suffix. */
int osp_partdir_has_suffix(const char *name, const char *suffix);

/* DIR/<day>[/<seq>.part[.tmp]]: part paths; seq 0 with tmp 0 gives the day directory.
 * Memory from osp_malloc (caller frees); NULL when out of memory. */
char *osp_partdir_path(const char *dir, uint32_t day, uint64_t seq, int tmp);

/* Creates directory path unless it exists. 0, or OSP_EIO logged at error level under
 * log_module. */
int osp_partdir_make_dir(const char *path, const char *log_module);

/* Allocates the paths of part seq of day (*tmp with the temporary suffix, *path without)
 * and creates the day directory. 0, OSP_ENOMEM or OSP_EIO; the caller frees both paths
 * either way. Hold the lock that retention (osp_partdir_remove_empty_days) takes. */
int osp_partdir_new_part(const char *dir, uint32_t day, uint64_t seq, char **tmp, char **path,
                         const char *log_module);

/* Called by osp_partdir_scan for each part file: takes path (osp_free it). 0 goes on,
 * anything else stops the scan with that code. */
typedef int (*osp_partdir_part_fn)(void *ctx, char *path, uint32_t day, uint64_t seq);

/* Walks the day directories of dir (skipping the quarantine directory, dot files and, when
 * not NULL, the entry named skip), deletes leftover temporary files, warns about anything
 * else that is not "<what>" (a part file) or a day, and calls fn for every part file.
 * 0, OSP_ENOMEM, OSP_EIO (logged) or fn's code. */
int osp_partdir_scan(const char *dir, const char *skip, const char *what, const char *log_module,
                     osp_partdir_part_fn fn, void *ctx);

/* Moves the part file at path into qdir as <yyyymmdd>-<name> (core/fsutil.h
 * osp_quarantine, logged as a "<what>"). */
void osp_partdir_quarantine(const char *path, const char *qdir, uint32_t day, const char *what,
                            const char *log_module);

/* 1 when day still holds parts the caller knows of (called under lock). */
typedef int (*osp_partdir_day_fn)(void *ctx, uint32_t day);

/* Removes the day directories of dir that day_used says hold no part, each check and
 * rmdir under lock (against a writer creating the directory); directories that still
 * hold files stay. */
void osp_partdir_remove_empty_days(const char *dir, pthread_mutex_t *lock,
                                   osp_partdir_day_fn day_used, void *ctx, const char *log_module);

#endif
