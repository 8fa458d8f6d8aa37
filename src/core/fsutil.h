/* File system helpers shared by the storage engines: paths, directories, whole writes. */
#ifndef OSP_CORE_FSUTIL_H
#define OSP_CORE_FSUTIL_H

#include <stddef.h>

#include "core/buf.h"

/* "a/b" in memory from osp_malloc (caller frees with osp_free); NULL when out of memory. */
char *osp_path_join(const char *a, const char *b);

/* Creates path and any missing parents (mode 0755), like mkdir -p; existing directories
 * are fine. 0; OSP_EINVAL when path is empty or not shorter than PATH_MAX; OSP_EIO when a
 * mkdir fails, logged at error level under log_module as "<that directory>: <reason>". */
int osp_mkdirs(const char *path, const char *log_module);

/* Flushes directory dir's entries (creates, renames, unlinks) to disk. 0 or OSP_EIO, with
 * errno saying why; logs nothing. */
int osp_fsync_dir(const char *dir);

/* Takes an exclusive advisory lock on the file dir/LOCK (created if missing), so that a
 * second process cannot open the same data directory. 0 with *fd holding the lock until
 * it is closed; OSP_EBUSY when another process holds it; OSP_EIO (errno says why);
 * OSP_ENOMEM. */
int osp_lock_dir(const char *dir, int *fd);

/* Moves the corrupt file path into directory qdir as name (NULL: path's own file name), and
 * logs at error level under log_module "<path>: corrupt <what> quarantined as <dest>", or
 * why it could not be moved (the file then stays where it is). */
void osp_quarantine(const char *path, const char *qdir, const char *name, const char *what,
                    const char *log_module);

/* Writes all n bytes of p to fd, retrying short writes and EINTR. 0 or OSP_EIO, with errno
 * saying why (some bytes may have been written); logs nothing. */
int osp_write_all(int fd, const void *p, size_t n);

/* Appends the whole file at path to b (whose max caps it). 0; OSP_ENOTFOUND (no such
 * file), OSP_EIO (errno says why), or the buffer's OSP_ETOOBIG / OSP_ENOMEM; logs nothing. */
int osp_read_file(const char *path, osp_buf *b);

/* Replaces the file at path with the n bytes at p, atomically: they are written to
 * path.tmp, fsynced and renamed over path, and the directory is fsynced, so a reader sees
 * the old file or the new one, whole. 0, OSP_EINVAL (path too long), OSP_EIO (errno says
 * why; the temporary file is removed); logs nothing. */
int osp_write_file_atomic(const char *path, const void *p, size_t n);

#endif
