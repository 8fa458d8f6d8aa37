/* Metric label sets (Prometheus data model): name/value pairs identifying a series. The
 * metric name is the label __name__. Slices point into memory someone else owns. */
#ifndef OSP_MODEL_LABELS_H
#define OSP_MODEL_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

typedef struct osp_label {
    osp_str name, value;
} osp_label;

/* One float sample: milliseconds since the epoch, as Prometheus counts time. */
typedef struct osp_sample {
    int64_t t_ms;
    double v;
} osp_sample;

#define OSP_METRIC_NAME_LABEL "__name__"

#endif
