/* Log volume: how many streams, blocks, records and bytes of lines a stream selector
 * covers over a time range, and the bytes per series of chosen labels, in total and per
 * step. Backs Loki's /loki/api/v1/index/stats, /index/volume and /index/volume_range.
 * Computed from a scan that reads records' times alone, with each record's size as the
 * source estimates it (osp_log_view.size). */
#ifndef OSP_QUERY_LOGVOLUME_H
#define OSP_QUERY_LOGVOLUME_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/labels.h"
#include "query/logql_eval.h"

/* Default and largest number of series a volume returns (the largest ones). */
#define OSP_LOG_VOLUME_DEFAULT_LIMIT 100
/* Largest series × steps a volume with steps may gather before the limit cuts. */
#define OSP_LOG_VOLUME_MAX_CELLS ((size_t)4 << 20)

typedef struct osp_log_volume_query {
    const osp_label_matcher *m; /* the stream selector; n >= 1 */
    size_t n;
    uint64_t start_ns, end_ns; /* records with osp_log_time in [start_ns, end_ns) */
    uint64_t step_ns;          /* > 0: also the bytes per step; step k holds the records in
                                  [start_ns + k * step_ns, start_ns + (k + 1) * step_ns) */
    const osp_str *targets;    /* the labels series are made of (Loki's targetLabels); none:
                                  the names the matchers use, each once */
    size_t ntargets;
    int by_labels; /* one series per target name a stream holds, valued "" (Loki's
                      aggregateBy=labels), instead of one per set of target values */
    size_t limit;  /* series returned at most, the largest; 0 picks the default */
} osp_log_volume_query;

typedef struct osp_log_volume_series {
    osp_label *labels; /* sorted by name; a stream without any target label adds to {} */
    size_t nlabels;
    uint64_t bytes;       /* over the whole range */
    uint64_t *step_bytes; /* with step_ns, per step; else NULL */
} osp_log_volume_series;

typedef struct osp_log_volume {
    uint64_t streams;              /* streams with records in the range */
    uint64_t chunks;               /* runs of one stream's records as the source passed them (a
                                      stream's rows in one block: Loki's chunks) */
    uint64_t entries;              /* records */
    uint64_t bytes;                /* their size */
    osp_log_volume_series *series; /* largest first, ties by labels */
    size_t nseries;
    size_t nsteps; /* with step_ns: ceil((end_ns - start_ns) / step_ns) */
} osp_log_volume;

/* Computes the volume of q over src (its scan and stream_labels) into out, allocating
 * from arena. 0, OSP_EINVAL (no matcher, end before start, too many steps), OSP_ETOOBIG
 * (more than OSP_LOG_VOLUME_MAX_CELLS series × steps), OSP_ENOMEM, or the source's error. */
int osp_log_volume_compute(const osp_logql_source *src, const osp_log_volume_query *q,
                           osp_arena *arena, osp_log_volume *out);

#endif
