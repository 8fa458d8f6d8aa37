/* Helpers shared by the benchmark tools. */
#include "benchutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/endian.h"
#include "core/err.h"
#include "core/mem.h"

uint64_t osp_bench_now_ns(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

double osp_bench_cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

const char *osp_bench_opt_str(const osp_bench_opts *o, const char *name, const char *def)
{
    for (int i = 0; i + 1 < o->argc; i++)
        if (strcmp(o->argv[i], name) == 0)
            return o->argv[i + 1];
    return def;
}

uint64_t osp_bench_opt_u64(const osp_bench_opts *o, const char *name, uint64_t def)
{
    const char *v = osp_bench_opt_str(o, name, NULL);
    return v ? strtoull(v, NULL, 10) : def;
}

int osp_bench_opt_flag(const osp_bench_opts *o, const char *name)
{
    for (int i = 0; i < o->argc; i++)
        if (strcmp(o->argv[i], name) == 0)
            return 1;
    return 0;
}

int osp_bench_pack_write(FILE *f, const void *body, size_t len, uint32_t count)
{
    uint8_t h[8];
    osp_put_le32(h, (uint32_t)len);
    osp_put_le32(h + 4, count);
    if (fwrite(h, 1, 8, f) != 8 || fwrite(body, 1, len, f) != len)
        return OSP_EIO;
    return 0;
}

int osp_bench_pack_open(const char *path, const char *who, osp_bench_pack *pk)
{
    memset(pk, 0, sizeof *pk);
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        fprintf(stderr, "%s: cannot open %s: %s\n", who, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return OSP_EIO;
    }
    pk->size = (size_t)st.st_size;
    void *m = pk->size ? mmap(NULL, pk->size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
    close(fd);
    if (pk->size && m == MAP_FAILED)
        return OSP_EIO;
    pk->map = m;
    if (pk->size)
        madvise(m, pk->size, MADV_SEQUENTIAL); /* read once, front to back */
    for (size_t off = 0; off + 8 <= pk->size;) {
        uint32_t len = osp_get_le32(pk->map + off), count = osp_get_le32(pk->map + off + 4);
        if (off + 8 + len > pk->size) {
            fprintf(stderr, "%s: %s is truncated\n", who, path);
            return OSP_ECORRUPT;
        }
        if (pk->n == pk->cap) {
            size_t cap = pk->cap ? pk->cap * 2 : 4096;
            osp_bench_pack_rec *r = osp_realloc(pk->rec, cap * sizeof *r);
            if (!r)
                return OSP_ENOMEM;
            pk->rec = r;
            pk->cap = cap;
        }
        pk->rec[pk->n++] = (osp_bench_pack_rec){pk->map + off + 8, len, count};
        off += 8 + (size_t)len;
    }
    return 0;
}

void osp_bench_pack_close(osp_bench_pack *pk)
{
    if (pk->map)
        munmap((void *)pk->map, pk->size);
    osp_free(pk->rec);
    memset(pk, 0, sizeof *pk);
}

size_t osp_bench_keep_cb(char *p, size_t size, size_t n, void *ud)
{
    return osp_buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

size_t osp_bench_keep_start_cb(char *p, size_t size, size_t n, void *ud)
{
    osp_buf *b = ud;
    size_t len = size * n;
    if (b && b->len < 512)
        osp_buf_append(b, p, len < 512 - b->len ? len : 512 - b->len);
    return len;
}

int osp_bench_timed_get(CURL *h, const char *url, osp_buf *body, uint64_t *ns)
{
    osp_buf_reset(body);
    curl_easy_setopt(h, CURLOPT_URL, url);
    uint64_t t0 = osp_bench_now_ns(CLOCK_MONOTONIC);
    CURLcode res = curl_easy_perform(h);
    *ns = osp_bench_now_ns(CLOCK_MONOTONIC) - t0;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return res == CURLE_OK && code == 200 ? 0 : -1;
}
