/* File system helpers shared by the storage engines. */
#include "core/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"

char *osp_path_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = osp_malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

int osp_mkdirs(const char *path, const char *log_module)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf)
        return OSP_EINVAL;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) && errno != EEXIST) {
            osp_error(log_module, "%s: %s", buf, strerror(errno));
            return OSP_EIO;
        }
        buf[i] = path[i];
    }
    return 0;
}

int osp_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return OSP_EIO;
    int rc = fsync(fd) ? OSP_EIO : 0;
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int osp_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return OSP_EIO;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

int osp_lock_dir(const char *dir, int *fd)
{
    char *path = osp_path_join(dir, "LOCK");
    if (!path)
        return OSP_ENOMEM;
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    osp_free(path);
    if (f < 0)
        return OSP_EIO;
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        close(f);
        return busy ? OSP_EBUSY : OSP_EIO;
    }
    *fd = f;
    return 0;
}

void osp_quarantine(const char *path, const char *qdir, const char *name, const char *what,
                    const char *log_module)
{
    const char *base = strrchr(path, '/');
    char *dest = osp_path_join(qdir, name ? name : base ? base + 1 : path);
    if (dest && rename(path, dest) == 0)
        osp_error(log_module, "%s: corrupt %s quarantined as %s", path, what, dest);
    else
        osp_error(log_module, "%s: corrupt %s could not be quarantined: %s", path, what,
                  dest ? strerror(errno) : "out of memory");
    osp_free(dest);
}

int osp_read_file(const char *path, osp_buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? OSP_ENOTFOUND : OSP_EIO;
    int rc = 0;
    for (;;) {
        size_t room = b->max - b->len < (1 << 16) ? b->max - b->len : 1 << 16;
        char probe;
        if (room == 0) { /* full: a byte more means the file does not fit */
            ssize_t n = read(fd, &probe, 1);
            if (n < 0 && errno == EINTR)
                continue;
            rc = n < 0 ? OSP_EIO : n ? OSP_ETOOBIG : 0;
            break;
        }
        if ((rc = osp_buf_reserve(b, room)) != 0)
            break;
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? OSP_EIO : 0;
            break;
        }
        b->len += (size_t)n;
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* The directory of path ("." when it names none) into dir (PATH_MAX bytes). */
static void dir_of(const char *path, char *dir)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, PATH_MAX, ".");
    else if (slash == path)
        snprintf(dir, PATH_MAX, "/");
    else
        snprintf(dir, PATH_MAX, "%.*s", (int)(slash - path), path);
}

int osp_write_file_atomic(const char *path, const void *p, size_t n)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return OSP_EINVAL;
    dir_of(path, dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc = 0;
    if (fd < 0 || osp_write_all(fd, p, n) != 0 || fsync(fd) != 0 || rename(tmp, path) != 0 ||
        osp_fsync_dir(dir) != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        rc = OSP_EIO;
    }
    if (fd >= 0) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return rc;
}
