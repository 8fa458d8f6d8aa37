/* Helpers shared by the benchmark tools (osprey-loadgen, osprey-metrics-bench): clocks,
 * option parsing, pack files of pre-encoded request bodies, curl body callbacks. */
#ifndef OSP_BENCH_BENCHUTIL_H
#define OSP_BENCH_BENCHUTIL_H

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"

/* Nanoseconds on clock (CLOCK_MONOTONIC, CLOCK_REALTIME). */
uint64_t osp_bench_now_ns(int clock);
/* User plus system CPU seconds of this process so far. */
double osp_bench_cpu_seconds(void);

/* Command-line options: "--name value" pairs and bare "--flags". */
typedef struct osp_bench_opts {
    int argc;
    char **argv;
} osp_bench_opts;

/* The value after name, def when absent (or when name comes last). */
const char *osp_bench_opt_str(const osp_bench_opts *o, const char *name, const char *def);
/* The value after name as a decimal number, def when absent. */
uint64_t osp_bench_opt_u64(const osp_bench_opts *o, const char *name, uint64_t def);
/* 1 when name appears. */
int osp_bench_opt_flag(const osp_bench_opts *o, const char *name);

/* A pack file: records of [u32 LE body length][u32 LE count][body], where count is what
 * the body carries (spans, samples). Read through a read-only mapping. */
typedef struct osp_bench_pack_rec {
    const uint8_t *body;
    uint32_t len, count;
} osp_bench_pack_rec;

typedef struct osp_bench_pack {
    const uint8_t *map;
    size_t size;
    osp_bench_pack_rec *rec;
    size_t n, cap;
} osp_bench_pack;

/* Writes one record. 0 or OSP_EIO. */
int osp_bench_pack_write(FILE *f, const void *body, size_t len, uint32_t count);
/* Maps the pack at path and indexes its records; who prefixes error messages on stderr.
 * 0, OSP_EIO, OSP_ECORRUPT (truncated), OSP_ENOMEM. Close it in every case. */
int osp_bench_pack_open(const char *path, const char *who, osp_bench_pack *pk);
void osp_bench_pack_close(osp_bench_pack *pk);

/* curl write callbacks into an osp_buf (ud): the whole answer, or its first 512 bytes (for
 * error messages; ud may be NULL to discard). */
size_t osp_bench_keep_cb(char *p, size_t size, size_t n, void *ud);
size_t osp_bench_keep_start_cb(char *p, size_t size, size_t n, void *ud);

/* GET url on h (whose write callback fills body, emptied first), its wall time in *ns. 0 on
 * HTTP 200, -1 otherwise. */
int osp_bench_timed_get(CURL *h, const char *url, osp_buf *body, uint64_t *ns);

#endif
