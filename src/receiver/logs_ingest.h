/* The last step every log receiver shares (OTLP, Loki push, JSON lines): holds decoded
 * records to the ingest limits, gives records without any time their arrival time, stores
 * the batch and feeds the log pattern miner. */
#ifndef OSP_RECEIVER_LOGS_INGEST_H
#define OSP_RECEIVER_LOGS_INGEST_H

#include <stdint.h>

#include "model/log.h"
#include "receiver/receiver.h"

/* Longest log line stored (Loki's default max_line_size); longer records are refused. */
#define OSP_LOG_MAX_LINE ((size_t)256 << 10)

/* Names of the log receivers' self-metrics (osprey_log_records_*_total). */
extern const osp_ingest_names osp_log_ingest_names;

/* What ingest refused, beside what the decoder did. */
typedef struct osp_log_refusals {
    int64_t rejected;  /* records left out */
    char message[256]; /* the first, e.g. "log record 4: line of 300000 bytes exceeds the
                          limit of 262144 bytes"; "" if none */
} osp_log_refusals;

/* Drops the records of b whose line (model/logstream.h, osp_log_line) is longer than
 * OSP_LOG_MAX_LINE or does not render, counting them in ref; sets observed_ns to the
 * arrival time on records with neither time; appends the rest to env's store and mines
 * their lines in env->patterns (when set) under their stream's service_name. Returns 0
 * (possibly with refusals; nothing to store is 0 too), or the store's error: OSP_EBUSY,
 * OSP_EIO, OSP_ENOMEM. */
int osp_logs_ingest(const osp_receiver_env *env, osp_log_batch *b, osp_log_refusals *ref);

#endif
