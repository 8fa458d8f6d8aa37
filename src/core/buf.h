/* Growable byte buffer with a hard size cap (curl's dynbuf): input from the network
 * can never grow one past the limit it was created with. */
#ifndef OSP_CORE_BUF_H
#define OSP_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/str.h"

typedef struct osp_buf {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
    size_t max; /* hard limit on len; appends past it fail with OSP_ETOOBIG */
} osp_buf;

/* Initializes an empty buffer that may hold at most max bytes (0 = SIZE_MAX). */
void osp_buf_init(osp_buf *b, size_t max);
/* Frees the storage; the buffer is empty and reusable afterwards. */
void osp_buf_cleanup(osp_buf *b);
/* Empties without freeing. */
static inline void osp_buf_reset(osp_buf *b)
{
    b->len = 0;
}
/* Ensures room for n more bytes. 0, OSP_ENOMEM or OSP_ETOOBIG. */
int osp_buf_reserve(osp_buf *b, size_t n);
/* The growing half of osp_buf_append, out of line. */
int osp__buf_append_grow(osp_buf *b, const void *p, size_t n);
/* Appends n bytes. 0, OSP_ENOMEM or OSP_ETOOBIG (buffer unchanged on failure). Inline:
 * appends that fit are the hot path of every encoder. (max is checked too: a reused
 * buffer may be given a lower max than it has room for.) */
static inline int osp_buf_append(osp_buf *b, const void *p, size_t n)
{
    if (n > b->cap - b->len || b->len + n > b->max)
        return osp__buf_append_grow(b, p, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}
static inline int osp_buf_append_str(osp_buf *b, osp_str s)
{
    return osp_buf_append(b, s.p, s.n);
}
static inline int osp_buf_putc(osp_buf *b, char c)
{
    return osp_buf_append(b, &c, 1);
}
int osp_buf_puts(osp_buf *b, const char *z);
/* printf-style append. */
int osp_buf_printf(osp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int osp_buf_vprintf(osp_buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal, quotes included, escaping as RFC 8259 requires.
 * Invalid UTF-8 bytes are written as U+FFFD. */
int osp_buf_json_str(osp_buf *b, const char *p, size_t n);
/* Takes ownership of the data (caller frees with osp_free); buffer becomes empty. */
char *osp_buf_steal(osp_buf *b, size_t *len);
static inline osp_str osp_buf_str(const osp_buf *b)
{
    return (osp_str){b->data, b->len};
}

#endif
