/* A logfmt scanner with go-logfmt's ScanKeyval rules (the decoder Loki's logfmt parser and
 * its level detection use): pairs `key`, `key=`, `key=value`, `key="quoted value"`,
 * separated by bytes <= ' '. Zero-copy: keys and values point into the line; quoted values
 * with backslash escapes come raw, for the caller to unescape as its rules say. */
#ifndef OSP_CORE_LOGFMT_H
#define OSP_CORE_LOGFMT_H

#include <stddef.h>

#include "core/str.h"

/* What osp_logfmt_scan found. */
enum { OSP_LOGFMT_END, OSP_LOGFMT_PAIR, OSP_LOGFMT_BAD };

typedef struct osp_logfmt {
    osp_str line;
    size_t pos; /* where the next scan starts */
    osp_str key, value;
    int has_value; /* the key had '=' */
    int escaped;   /* value is a quoted value's raw text holding a backslash escape */
    /* the syntax error of the last OSP_LOGFMT_BAD: msg, or "unexpected 'c'" when NULL, at
     * byte err_pos */
    const char *err_msg;
    char err_c;
    size_t err_pos;
} osp_logfmt;

/* Starts scanning line. */
static inline void osp_logfmt_init(osp_logfmt *d, osp_str line)
{
    *d = (osp_logfmt){.line = line};
}

/* The next pair: OSP_LOGFMT_PAIR with key (valid UTF-8 holding no U+FFFD) and value (NULL
 * with no value), OSP_LOGFMT_END at the end of the line, or OSP_LOGFMT_BAD on a syntax
 * error (err_* say which; pos then lies past the bad byte, and scanning may go on). */
int osp_logfmt_scan(osp_logfmt *d);

/* Records a syntax error found by the caller at d->pos (msg as err_msg); returns
 * OSP_LOGFMT_BAD. */
int osp_logfmt_fail(osp_logfmt *d, const char *msg);

#endif
