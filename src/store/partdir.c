/* Names and directories of time-partitioned part files (store/partdir.h). */
#include "store/partdir.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"

void osp_partdir_day_name(uint32_t day, char out[OSP_PART_DAY_DIGITS + 1])
{
    time_t t = (time_t)day * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, OSP_PART_DAY_DIGITS + 1, "%Y%m%d", &tm); /* days < 2^18: 4-digit years */
}

int osp_partdir_parse_day(const char *name, uint32_t *day)
{
    struct tm tm = {0};
    char back[OSP_PART_DAY_DIGITS + 1];
    if (strlen(name) != OSP_PART_DAY_DIGITS || strspn(name, "0123456789") != OSP_PART_DAY_DIGITS)
        return 0;
    tm.tm_year = (name[0] - '0') * 1000 + (name[1] - '0') * 100 + (name[2] - '0') * 10 +
                 (name[3] - '0') - 1900;
    tm.tm_mon = (name[4] - '0') * 10 + (name[5] - '0') - 1;
    tm.tm_mday = (name[6] - '0') * 10 + (name[7] - '0');
    time_t t = timegm(&tm);
    if (t < 0 || t / 86400 > UINT32_MAX)
        return 0;
    *day = (uint32_t)(t / 86400);
    osp_partdir_day_name(*day, back);
    return strcmp(back, name) == 0;
}

int osp_partdir_parse_part_name(const char *name, uint64_t *seq)
{
    if (strlen(name) != OSP_PART_SEQ_DIGITS + strlen(OSP_PART_SUFFIX) ||
        strspn(name, "0123456789abcdef") != OSP_PART_SEQ_DIGITS ||
        strcmp(name + OSP_PART_SEQ_DIGITS, OSP_PART_SUFFIX) != 0)
        return 0;
    *seq = strtoull(name, NULL, 16);
    return 1;
}

int osp_partdir_has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n >= k && strcmp(name + n - k, suffix) == 0;
}

char *osp_partdir_path(const char *dir, uint32_t day, uint64_t seq, int tmp)
{
    char dname[OSP_PART_DAY_DIGITS + 1], name[64];
    osp_partdir_day_name(day, dname);
    if (seq == 0 && !tmp)
        return osp_path_join(dir, dname);
    snprintf(name, sizeof name, "%s/%016llx%s%s", dname, (unsigned long long)seq, OSP_PART_SUFFIX,
             tmp ? OSP_PART_TMP_SUFFIX : "");
    return osp_path_join(dir, name);
}

int osp_partdir_make_dir(const char *path, const char *log_module)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    osp_error(log_module, "%s: mkdir: %s", path, strerror(errno));
    return OSP_EIO;
}

int osp_partdir_new_part(const char *dir, uint32_t day, uint64_t seq, char **tmp, char **path,
                         const char *log_module)
{
    char *dpath = osp_partdir_path(dir, day, 0, 0);
    int rc = OSP_ENOMEM;
    *tmp = osp_partdir_path(dir, day, seq, 1);
    *path = osp_partdir_path(dir, day, seq, 0);
    if (*tmp && *path && dpath)
        rc = osp_partdir_make_dir(dpath, log_module);
    osp_free(dpath);
    return rc;
}

/* Calls fn for every part file of one day directory; deletes leftover temporary files. */
static int scan_day(const char *dpath, uint32_t day, const char *what, const char *log_module,
                    osp_partdir_part_fn fn, void *ctx)
{
    DIR *d = opendir(dpath);
    struct dirent *de;
    int rc = 0;
    if (!d) {
        osp_error(log_module, "%s: opendir: %s", dpath, strerror(errno));
        return OSP_EIO;
    }
    while (rc == 0 && (de = readdir(d))) {
        uint64_t seq;
        if (de->d_name[0] == '.')
            continue;
        char *path = osp_path_join(dpath, de->d_name);
        if (!path) {
            rc = OSP_ENOMEM;
        } else if (osp_partdir_parse_part_name(de->d_name, &seq)) {
            rc = fn(ctx, path, day, seq);
            continue;
        } else if (osp_partdir_has_suffix(de->d_name, OSP_PART_TMP_SUFFIX)) {
            osp_info(log_module, "%s: removing an interrupted write", path);
            if (unlink(path) != 0)
                osp_warn(log_module, "%s: unlink: %s", path, strerror(errno));
        } else {
            osp_warn(log_module, "%s: not a %s, ignored", path, what);
        }
        osp_free(path);
    }
    closedir(d);
    return rc;
}

int osp_partdir_scan(const char *dir, const char *skip, const char *what, const char *log_module,
                     osp_partdir_part_fn fn, void *ctx)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int rc = 0;
    if (!d) {
        osp_error(log_module, "%s: opendir: %s", dir, strerror(errno));
        return OSP_EIO;
    }
    while (rc == 0 && (de = readdir(d))) {
        uint32_t day;
        if (de->d_name[0] == '.' || !strcmp(de->d_name, OSP_PART_QUARANTINE_DIR) ||
            (skip && !strcmp(de->d_name, skip)))
            continue;
        if (!osp_partdir_parse_day(de->d_name, &day)) {
            osp_warn(log_module, "%s/%s: not a partition, ignored", dir, de->d_name);
            continue;
        }
        char *dpath = osp_path_join(dir, de->d_name);
        rc = dpath ? scan_day(dpath, day, what, log_module, fn, ctx) : OSP_ENOMEM;
        osp_free(dpath);
    }
    closedir(d);
    return rc;
}

void osp_partdir_quarantine(const char *path, const char *qdir, uint32_t day, const char *what,
                            const char *log_module)
{
    char dname[OSP_PART_DAY_DIGITS + 1], name[512];
    const char *base = strrchr(path, '/');
    osp_partdir_day_name(day, dname);
    snprintf(name, sizeof name, "%s-%s", dname, base ? base + 1 : path);
    osp_quarantine(path, qdir, name, what, log_module);
}

void osp_partdir_remove_empty_days(const char *dir, pthread_mutex_t *lock,
                                   osp_partdir_day_fn day_used, void *ctx, const char *log_module)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d)
        return;
    while ((de = readdir(d))) {
        uint32_t day;
        if (!osp_partdir_parse_day(de->d_name, &day))
            continue;
        char *dpath = osp_path_join(dir, de->d_name);
        pthread_mutex_lock(lock);
        if (!day_used(ctx, day) && dpath && rmdir(dpath) == 0)
            osp_info(log_module, "%s: removed", dpath);
        pthread_mutex_unlock(lock);
        osp_free(dpath);
    }
    closedir(d);
}
