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
