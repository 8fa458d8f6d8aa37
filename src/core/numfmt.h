/* Number formatting as Go's strconv writes it, which Prometheus's APIs expose. */
#ifndef OSP_CORE_NUMFMT_H
#define OSP_CORE_NUMFMT_H

#include <stddef.h>

#include "core/buf.h"

/* Longest text osp_format_float_g writes, with its NUL. */
#define OSP_FLOAT_G_MAX 32

/* Appends v as strconv.FormatFloat(v, 'f', -1, 64): the fewest digits that read back as v,
 * never an exponent ("0.1", "1e+21" is "1000000000000000000000", "-0"), and "NaN",
 * "+Inf", "-Inf". 0 or the buffer's error. */
int osp_buf_float(osp_buf *b, double v);

/* Appends v as Prometheus's HTTP API writes a sample value: osp_buf_float's form, except
 * that magnitudes below 1e-6 or from 1e21 up take strconv's 'e' form ("1e-07",
 * "1.7976931348623157e+308"). 0 or the buffer's error. */
int osp_buf_float_prom(osp_buf *b, double v);

/* Writes v as strconv.FormatFloat(v, 'g', -1, 64) ("0.25", "1e+06", "+Inf") into out
 * (OSP_FLOAT_G_MAX bytes); returns the length. */
size_t osp_format_float_g(double v, char out[OSP_FLOAT_G_MAX]);

#endif
