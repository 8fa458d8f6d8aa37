/* libFuzzer target: the time-series engine's metadata file (DIR/metadata, "OSPTMD01";
 * src/store/tsdb/README.md) loads without crashing, a corrupt one is ignored, and what
 * loads is saved and loaded back unchanged.
 *
 * Input: byte 0 bit 0 set: the rest is the whole file; clear: the rest is the body after
 * the magic (count and entries), and the target adds the magic and a valid checksum so
 * that mutations reach the entry decoder. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/arena.h"
#include "core/endian.h"
#include "fuzz_util.h"
#include "store/tsdb/tsdb_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
    if (!ok)
        abort();
}

static void write_file(const char *path, const void *a, size_t na, const void *b, size_t nb)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    check(fd >= 0);
    check(write(fd, a, na) == (ssize_t)na);
    check(nb == 0 || write(fd, b, nb) == (ssize_t)nb);
    close(fd);
}

/* Every entry of m, checked: sorted by family, unique, each found on its own. */
static void list(osp__meta_map *m, osp_arena *arena, osp_metric_meta **out, size_t *n)
{
    check(osp__meta_list(m, OSP_STR_LIT(""), arena, out, n) == 0);
    for (size_t i = 0; i < *n; i++) {
        const osp_metric_meta *e = &(*out)[i];
        osp_metric_meta *one;
        size_t none;
        check(e->family.n > 0 && e->kind >= OSP_KIND_UNKNOWN && e->kind <= OSP_KIND_STATESET);
        check(i == 0 || osp_str_cmp((*out)[i - 1].family, e->family) < 0);
        check(osp__meta_list(m, e->family, arena, &one, &none) == 0 && none == 1);
        check(osp_str_eq(one->help, e->help) && osp_str_eq(one->unit, e->unit));
        check(osp__meta_put(m, e) == 0); /* the same entry again: unchanged */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[4200];
    const char *dir = fuzz_scratch_dir("tsdb-meta");
    osp__meta_map m;
    osp_arena arena;
    osp_metric_meta *a, *b;
    size_t na, nb;
    if (size < 1)
        return 0;
    fuzz_clear_dir(dir);
    snprintf(path, sizeof path, "%s/metadata", dir);
    if (data[0] & 1) {
        write_file(path, data + 1, size - 1, NULL, 0);
    } else {
        uint8_t *f = malloc(size - 1 + 16);
        check(f != NULL);
        memcpy(f, "OSPTMD01", 8);
        memcpy(f + 8, data + 1, size - 1);
        osp_put_le64(f + 8 + size - 1, XXH64(f, 8 + size - 1, 0));
        write_file(path, f, size - 1 + 16, NULL, 0);
        free(f);
    }

    osp_arena_init(&arena, 0, 0);
    osp__meta_init(&m);
    check(osp__meta_load(&m, dir) == 0); /* a corrupt file is ignored, never fatal */
    list(&m, &arena, &a, &na);
    check(osp__meta_save(&m, dir) == 0);
    osp__meta_cleanup(&m);

    osp__meta_init(&m);
    check(osp__meta_load(&m, dir) == 0);
    list(&m, &arena, &b, &nb);
    check(na == nb);
    for (size_t i = 0; i < na; i++)
        check(osp_str_eq(a[i].family, b[i].family) && a[i].kind == b[i].kind &&
              osp_str_eq(a[i].help, b[i].help) && osp_str_eq(a[i].unit, b[i].unit));
    osp__meta_cleanup(&m);
    osp_arena_cleanup(&arena);
    return 0;
}
