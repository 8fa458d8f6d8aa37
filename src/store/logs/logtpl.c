/* Template-split lines of one granule (contract in logtpl.h, format in logformat.h). */
#include "store/logs/logtpl.h"

#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "core/pb.h"
#include "store/logs/logformat.h"
#include "store/logs/logtoken.h"

void osp_logtpl_init(osp_logtpl *b)
{
    memset(b, 0, sizeof *b);
    osp_intern_init(&b->tpls, 1);
    osp_buf_init(&b->text, 0);
    osp_buf_init(&b->tpl, 0);
    osp_buf_init(&b->scratch, 0);
}

void osp_logtpl_cleanup(osp_logtpl *b)
{
    osp_intern_cleanup(&b->tpls);
    osp_free(b->info);
    osp_free(b->varies);
    osp_free(b->rows);
    osp_free(b->vars);
    osp_buf_cleanup(&b->text);
    osp_buf_cleanup(&b->tpl);
    osp_buf_cleanup(&b->scratch);
}

static osp_str var_str(const osp_logtpl *b, uint32_t v)
{
    return osp_str_make(b->text.data + b->vars[v].off, b->vars[v].len);
}

/* Copies token tok as the next variable. */
static int push_var(osp_logtpl *b, const uint8_t *tok, size_t n)
{
    if (b->text.len + n > UINT32_MAX || b->nvars >= UINT32_MAX)
        return OSP_ETOOBIG;
    osp_logtpl_var *v = osp_array_push((void **)&b->vars, &b->nvars, &b->vars_cap, sizeof *v);
    if (!v)
        return OSP_ENOMEM;
    *v = (osp_logtpl_var){(uint32_t)b->text.len, (uint32_t)n};
    return osp_buf_append(&b->text, tok, n);
}

/* Records a new template whose first line's variables start at first. */
static int new_template(osp_logtpl *b, uint32_t first, uint32_t nvars)
{
    osp_logtpl_info *t = osp_array_push((void **)&b->info, &b->ninfo, &b->info_cap, sizeof *t);
    if (!t)
        return OSP_ENOMEM;
    *t = (osp_logtpl_info){nvars, first, (uint32_t)b->nvaries};
    for (uint32_t i = 0; i < nvars; i++) {
        uint8_t *vary = osp_array_push((void **)&b->varies, &b->nvaries, &b->varies_cap, 1);
        if (!vary)
            return OSP_ENOMEM;
        *vary = 0;
    }
    return 0;
}

int osp_logtpl_add(osp_logtpl *b, osp_str line, uint32_t *tid, int *fresh)
{
    const uint8_t *p = (const uint8_t *)line.p, *end = p + line.n, *lit = p;
    size_t first = b->nvars;
    int rc = 0;
    osp_buf_reset(&b->tpl);
    while (p < end && rc == 0) {
        if (!osp_logtok_is_token_byte(*p)) {
            p++;
            continue;
        }
        const uint8_t *tok = p;
        unsigned cls = 0;
        for (; p < end && osp_logtok_is_token_byte(*p); p++)
            cls |= osp_logtok_class[*p];
        if (!(cls & OSP_LOGTOK_DIGIT))
            continue;
        if ((rc = push_var(b, tok, (size_t)(p - tok))) == 0 &&
            (rc = osp_buf_append(&b->tpl, lit, (size_t)(tok - lit))) == 0)
            rc = osp_buf_putc(&b->tpl, OSP_LBODY_PLACEHOLDER);
        lit = p;
    }
    size_t ntpls = b->tpls.n;
    if (rc || (rc = osp_buf_append(&b->tpl, lit, (size_t)(end - lit))) ||
        (rc = osp_intern_add(&b->tpls, osp_buf_str(&b->tpl), tid)) ||
        ((*fresh = *tid == ntpls) &&
         (rc = new_template(b, (uint32_t)first, (uint32_t)(b->nvars - first)))))
        return rc;
    const osp_logtpl_info *t = &b->info[*tid];
    for (uint32_t i = 0; i < t->nvars; i++) {
        uint8_t *vary = &b->varies[t->vary + i];
        *vary = *vary || !osp_str_eq(var_str(b, t->first + i), var_str(b, (uint32_t)first + i));
    }
    osp_logtpl_row *row = osp_array_push((void **)&b->rows, &b->nrows, &b->rows_cap, sizeof *row);
    if (!row)
        return OSP_ENOMEM;
    *row = (osp_logtpl_row){*tid, (uint32_t)first};
    return 0;
}

/* The values of one variable stream, in row order, in the MIXED form of logformat.h. */
typedef struct varstream {
    osp_buf vals;
    size_t count;
    uint64_t prev;       /* the last number */
    size_t plain, delta; /* bytes the numbers take as PLAIN, as DELTA */
    int mixed;           /* holds a text or zero-padded value: not PLAIN or DELTA */
    int fixed;           /* every value so far is digits of one width: FIXED fits */
    size_t width;        /* that width */
} varstream;

/* 1 with *v when tok is digits only (leading zeros allowed) and its value is below
 * 2^63. */
static int decimal(osp_str tok, uint64_t *v)
{
    uint64_t x = 0;
    if (tok.n == 0 || tok.n > 19)
        return 0;
    for (size_t i = 0; i < tok.n; i++) {
        unsigned d = (unsigned)(uint8_t)tok.p[i] - '0';
        if (d > 9 || x > ((uint64_t)INT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

static int put_var(varstream *vs, osp_str x)
{
    uint8_t tmp[10];
    uint64_t v;
    int rc;
    if (vs->count++ == 0) {
        vs->fixed = 1;
        vs->width = x.n;
    }
    vs->fixed = vs->fixed && x.n == vs->width;
    if (!decimal(x, &v)) {
        vs->mixed = 1;
        vs->fixed = 0;
        rc = osp_pb_put_varint(&vs->vals, (uint64_t)x.n << 2 | 1);
        return rc ? rc : osp_buf_append_str(&vs->vals, x);
    }
    vs->plain += osp_pb_encode_varint(tmp, v);
    vs->delta += osp_pb_encode_varint(tmp, osp_pb_zigzag_encode((int64_t)(v - vs->prev)));
    vs->prev = v;
    if (x.p[0] == '0' && x.n > 1) { /* zero-padded to its width */
        vs->mixed = 1;
        rc = osp_pb_put_varint(&vs->vals, (uint64_t)x.n << 2 | 3);
        return rc ? rc : osp_pb_put_varint(&vs->vals, v);
    }
    return osp_pb_put_varint(&vs->vals, v << 1);
}

/* Appends stream vs to vars as a mode byte and its values, in the cheapest mode that
 * gives them back: PLAIN or DELTA for plain numbers, FIXED or FIXED_DELTA for digits of
 * one width, else MIXED. */
static int put_stream(osp_logtpl *b, const varstream *vs, osp_buf *vars)
{
    int delta = vs->delta < vs->plain;
    int mode = !vs->mixed  ? (delta ? OSP_LVAR_DELTA : OSP_LVAR_PLAIN)
               : vs->fixed ? (delta ? OSP_LVAR_FIXED_DELTA : OSP_LVAR_FIXED)
                           : OSP_LVAR_MIXED;
    osp_buf_reset(&b->scratch);
    int rc = osp_buf_putc(&b->scratch, (char)mode);
    if (rc == 0 && mode == OSP_LVAR_MIXED)
        rc = osp_buf_append(&b->scratch, vs->vals.data, vs->vals.len);
    if (rc == 0 && mode >= OSP_LVAR_FIXED)
        rc = osp_pb_put_varint(&b->scratch, vs->width);
    osp_pb_reader r = osp_pb_reader_make(vs->vals.data, vs->vals.len);
    uint64_t h, v, prev = 0;
    while (mode != OSP_LVAR_MIXED && rc == 0 && r.p < r.end) {
        (void)osp_pb_read_varint(&r, &h);
        if (h & 1) /* a padded number: its value follows */
            (void)osp_pb_read_varint(&r, &v);
        else
            v = h >> 1;
        rc = osp_pb_put_varint(&b->scratch, delta ? osp_pb_zigzag_encode((int64_t)(v - prev)) : v);
        prev = v;
    }
    return rc ? rc : osp_pb_put_lenbytes(vars, b->scratch.data, b->scratch.len);
}

/* Appends template t with its constant variables written in. */
static int put_folded(osp_logtpl *b, uint32_t t, osp_buf *templates)
{
    const osp_logtpl_info *ti = &b->info[t];
    osp_str text = b->tpls.strs[t];
    uint32_t i = 0;
    int rc = 0;
    osp_buf_reset(&b->tpl);
    for (size_t k = 0; k < text.n && rc == 0; k++) {
        if (text.p[k] != OSP_LBODY_PLACEHOLDER || b->varies[ti->vary + i++])
            rc = osp_buf_putc(&b->tpl, text.p[k]);
        else
            rc = osp_buf_append_str(&b->tpl, var_str(b, ti->first + i - 1));
    }
    return rc ? rc : osp_pb_put_lenstr(templates, osp_buf_str(&b->tpl));
}

/* Fills the variable streams: the q-th varying variable of a line goes to stream
 * min(q, OSP_LBODY_MAX_VAR_STREAMS - 1). *nvs gets the number of streams used. */
static int fill_streams(osp_logtpl *b, varstream *vs, size_t *nvs)
{
    int rc = 0;
    *nvs = 0;
    for (size_t r = 0; r < b->nrows && rc == 0; r++) {
        const osp_logtpl_info *ti = &b->info[b->rows[r].tid];
        size_t q = 0;
        for (uint32_t i = 0; i < ti->nvars && rc == 0; i++) {
            if (!b->varies[ti->vary + i])
                continue;
            size_t k = q < OSP_LBODY_MAX_VAR_STREAMS ? q : OSP_LBODY_MAX_VAR_STREAMS - 1;
            rc = put_var(&vs[k], var_str(b, b->rows[r].first + i));
            *nvs = k + 1 > *nvs ? k + 1 : *nvs;
            q++;
        }
    }
    return rc;
}

int osp_logtpl_flush(osp_logtpl *b, osp_buf *templates, osp_buf *vars)
{
    varstream vs[OSP_LBODY_MAX_VAR_STREAMS];
    size_t nvs = 0;
    int rc = 0;
    for (size_t i = 0; i < OSP_LBODY_MAX_VAR_STREAMS; i++) {
        vs[i] = (varstream){0};
        osp_buf_init(&vs[i].vals, 0);
    }
    for (uint32_t t = 0; t < b->tpls.n && rc == 0; t++)
        rc = put_folded(b, t, templates);
    if (rc == 0)
        rc = fill_streams(b, vs, &nvs);
    for (size_t i = 0; i < nvs && rc == 0; i++)
        rc = put_stream(b, &vs[i], vars);
    for (size_t i = 0; i < OSP_LBODY_MAX_VAR_STREAMS; i++)
        osp_buf_cleanup(&vs[i].vals);
    osp_intern_cleanup(&b->tpls);
    osp_intern_init(&b->tpls, 1);
    b->ninfo = b->nvaries = b->nrows = b->nvars = 0;
    osp_buf_reset(&b->text);
    return rc;
}
