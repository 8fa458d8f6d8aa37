/* Template-split lines of one granule, as a log part writer builds them (the BODY
 * column's templates and variable streams, logformat.h).
 *
 * Each added line is split into its template (tokens holding a digit replaced by
 * OSP_LBODY_PLACEHOLDER) and its variables, which the builder copies. At the end of the
 * granule, a variable that is the same in every line of its template is folded back into
 * that template's text (a process id, a port, `HTTP/1.1`, the date of the hour), so only
 * the variables that vary are written to the streams; readers rebuild the same lines
 * either way. Not thread-safe. */
#ifndef OSP_STORE_LOGS_LOGTPL_H
#define OSP_STORE_LOGS_LOGTPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/intern.h"
#include "core/str.h"

/* A variable's bytes in osp_logtpl.text. */
typedef struct osp_logtpl_var {
    uint32_t off, len;
} osp_logtpl_var;

/* What a template's lines share: nvars variables; the variables of its first line start
 * at vars[first]; varies[vary + i] != 0 once variable i differed between two lines. */
typedef struct osp_logtpl_info {
    uint32_t nvars, first, vary;
} osp_logtpl_info;

/* A line: its template and the index of its first variable in vars. */
typedef struct osp_logtpl_row {
    uint32_t tid, first;
} osp_logtpl_row;

typedef struct osp_logtpl {
    osp_intern tpls; /* unfolded template text -> template id */
    osp_logtpl_info *info;
    size_t ninfo, info_cap;
    uint8_t *varies;
    size_t nvaries, varies_cap;
    osp_logtpl_row *rows;
    size_t nrows, rows_cap;
    osp_logtpl_var *vars;
    size_t nvars, vars_cap;
    osp_buf text;    /* the variables' bytes */
    osp_buf tpl;     /* the template being built, then a folded one */
    osp_buf scratch; /* a variable stream being encoded */
} osp_logtpl;

void osp_logtpl_init(osp_logtpl *b);
void osp_logtpl_cleanup(osp_logtpl *b);

/* Splits line (which holds no OSP_LBODY_PLACEHOLDER byte) and adds it; *tid gets its
 * template id: ids are dense, in order of first use, and the same for lines of the same
 * template; *fresh is 1 when this line is the template's first. 0, OSP_ENOMEM,
 * OSP_ETOOBIG (past 2^32 variable bytes in a granule); after a failure b may only be
 * cleaned up. */
int osp_logtpl_add(osp_logtpl *b, osp_str line, uint32_t *tid, int *fresh);

/* Template tid as split: the line with a placeholder for every variable (nothing folded).
 * Its tokens are the line's tokens without a digit. */
static inline osp_str osp_logtpl_text(const osp_logtpl *b, uint32_t tid)
{
    return b->tpls.strs[tid];
}

/* The number of variables of the line added last, and variable i of them: each one whole
 * token of the line, holding a digit. */
static inline uint32_t osp_logtpl_last_nvars(const osp_logtpl *b)
{
    return b->info[b->rows[b->nrows - 1].tid].nvars;
}
static inline osp_str osp_logtpl_last_var(const osp_logtpl *b, uint32_t i)
{
    const osp_logtpl_var *v = &b->vars[b->rows[b->nrows - 1].first + i];
    return osp_str_make(b->text.data + v->off, v->len);
}

/* Appends the granule's templates (folded, in id order) to templates and its variable
 * streams to vars, in logformat.h's encodings, then empties b for the next granule.
 * 0, OSP_ENOMEM. */
int osp_logtpl_flush(osp_logtpl *b, osp_buf *templates, osp_buf *vars);

#endif
