/* Metric metadata of the time-series engine: the latest entry per family, and its file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/endian.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/pb.h"
#include "store/tsdb/tsdb_int.h"

#define MOD "tsdb"
#define META_MAGIC "OSPTMD01"
#define META_FILE "metadata"

typedef struct osp__meta_ent {
    osp_metric_meta m; /* slices into mem */
    char *mem;
} osp__meta_ent;

void osp__meta_init(osp__meta_map *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void osp__meta_cleanup(osp__meta_map *m)
{
    for (size_t i = 0; i < m->n; i++)
        osp_free(m->a[i].mem);
    osp_free(m->a);
    pthread_mutex_destroy(&m->mu);
}

/* Index of family, or of where it would go (*found 0). Caller holds mu. */
static size_t find(const osp__meta_map *m, osp_str family, int *found)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = osp_str_cmp(m->a[mid].m.family, family);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

int osp__meta_put(osp__meta_map *m, const osp_metric_meta *e)
{
    int found, rc = 1;
    if (e->family.n == 0)
        return 0;
    pthread_mutex_lock(&m->mu);
    size_t i = find(m, e->family, &found);
    if (found && m->a[i].m.kind == e->kind && osp_str_eq(m->a[i].m.help, e->help) &&
        osp_str_eq(m->a[i].m.unit, e->unit)) {
        rc = 0;
        goto out;
    }
    char *mem = osp_malloc(e->family.n + e->help.n + e->unit.n + 1);
    if (mem && !found && m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        osp__meta_ent *na = osp_realloc(m->a, cap * sizeof *na);
        if (na) {
            m->a = na;
            m->cap = cap;
        }
    }
    if (!mem || (!found && m->n == m->cap)) {
        osp_free(mem);
        rc = OSP_ENOMEM;
        goto out;
    }
    if (found) {
        osp_free(m->a[i].mem);
    } else {
        memmove(&m->a[i + 1], &m->a[i], (m->n - i) * sizeof *m->a);
        m->n++;
    }
    memcpy(mem, e->family.p, e->family.n);
    if (e->help.n)
        memcpy(mem + e->family.n, e->help.p, e->help.n);
    if (e->unit.n)
        memcpy(mem + e->family.n + e->help.n, e->unit.p, e->unit.n);
    m->a[i].mem = mem;
    m->a[i].m = (osp_metric_meta){osp_str_make(mem, e->family.n), e->kind,
                                  osp_str_make(mem + e->family.n, e->help.n),
                                  osp_str_make(mem + e->family.n + e->help.n, e->unit.n)};
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int osp__meta_list(osp__meta_map *m, osp_str family, osp_arena *arena, osp_metric_meta **out,
                   size_t *n)
{
    int rc = 0, found = 0;
    size_t k = 0;
    pthread_mutex_lock(&m->mu);
    size_t from = family.n ? find(m, family, &found) : 0;
    size_t cnt = family.n ? (size_t)found : m->n;
    osp_metric_meta *a = osp_arena_calloc(arena, cnt ? cnt : 1, sizeof *a);
    if (!a) {
        rc = OSP_ENOMEM;
        goto out;
    }
    for (; k < cnt; k++) {
        const osp_metric_meta *e = &m->a[from + k].m;
        a[k] =
            (osp_metric_meta){osp_arena_strdup(arena, e->family), e->kind,
                              osp_arena_strdup(arena, e->help), osp_arena_strdup(arena, e->unit)};
        if (!a[k].family.p || !a[k].help.p || !a[k].unit.p) {
            rc = OSP_ENOMEM;
            goto out;
        }
    }
    *out = a;
    *n = cnt;
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int osp__meta_encode(osp_buf *b, const osp_metric_meta *e)
{
    int rc;
    uint8_t kind = (uint8_t)e->kind;
    if ((rc = osp_pb_put_lenstr(b, e->family)) || (rc = osp_buf_append(b, &kind, 1)) ||
        (rc = osp_pb_put_lenstr(b, e->help)) || (rc = osp_pb_put_lenstr(b, e->unit)))
        return rc;
    return 0;
}

static int get_str(osp_pb_reader *r, osp_str *s)
{
    return osp_pb_read_lenbytes(r, s) ? OSP_ECORRUPT : 0;
}

int osp__meta_decode(const uint8_t **p, const uint8_t *end, osp_metric_meta *e)
{
    osp_pb_reader r = osp_pb_reader_make(*p, (size_t)(end - *p));
    if (get_str(&r, &e->family) || e->family.n == 0 || r.p >= r.end)
        return OSP_ECORRUPT;
    e->kind = *r.p++;
    if (e->kind > OSP_KIND_STATESET || get_str(&r, &e->help) || get_str(&r, &e->unit))
        return OSP_ECORRUPT;
    *p = r.p;
    return 0;
}

int osp__meta_save(osp__meta_map *m, const char *dir)
{
    char path[PATH_MAX];
    osp_buf b;
    int rc = 0;
    uint8_t sum[8];
    snprintf(path, sizeof path, "%s/%s", dir, META_FILE);
    osp_buf_init(&b, 0);
    pthread_mutex_lock(&m->mu);
    rc = osp_buf_append(&b, META_MAGIC, 8);
    if (!rc)
        rc = osp_pb_put_varint(&b, m->n);
    for (size_t i = 0; i < m->n && !rc; i++)
        rc = osp__meta_encode(&b, &m->a[i].m);
    pthread_mutex_unlock(&m->mu);
    uint64_t h = XXH64(b.data, b.len, 0);
    osp_put_le64(sum, h);
    if (!rc)
        rc = osp_buf_append(&b, sum, 8);
    if (!rc && (rc = osp_write_file_atomic(path, b.data, b.len)) != 0)
        osp_error(MOD, "%s.tmp: %s", path, strerror(errno));
    osp_buf_cleanup(&b);
    return rc;
}

int osp__meta_load(osp__meta_map *m, const char *dir)
{
    char path[PATH_MAX];
    osp_buf b;
    char chunk[65536];
    int rc = 0;
    ssize_t got;
    snprintf(path, sizeof path, "%s/%s", dir, META_FILE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    osp_buf_init(&b, 0);
    while ((got = read(fd, chunk, sizeof chunk)) > 0 && !rc)
        rc = osp_buf_append(&b, chunk, (size_t)got);
    close(fd);
    if (rc)
        goto out;
    if (b.len < 16) /* before any pointer arithmetic: an empty file has no data pointer */
        goto corrupt;
    const uint8_t *p = (const uint8_t *)b.data, *end = p + b.len;
    uint64_t n, want;
    if (memcmp(p, META_MAGIC, 8))
        goto corrupt;
    end -= 8;
    want = osp_get_le64(end);
    if (XXH64(p, (size_t)(end - p), 0) != want)
        goto corrupt;
    osp_pb_reader r = osp_pb_reader_make(p + 8, (size_t)(end - p - 8));
    if (osp_pb_read_varint(&r, &n))
        goto corrupt;
    /* The whole file decodes, with nothing left over, before any entry is kept. */
    const uint8_t *q = r.p;
    for (uint64_t i = 0; i < n; i++) {
        osp_metric_meta e;
        if (osp__meta_decode(&q, end, &e))
            goto corrupt;
    }
    if (q != end)
        goto corrupt;
    p = r.p;
    for (uint64_t i = 0; i < n && !rc; i++) {
        osp_metric_meta e;
        osp__meta_decode(&p, end, &e);
        rc = osp__meta_put(m, &e) < 0 ? OSP_ENOMEM : 0;
    }
    goto out;
corrupt:
    osp_error(MOD, "%s: corrupt metadata file ignored", path);
out:
    osp_buf_cleanup(&b);
    return rc;
}
