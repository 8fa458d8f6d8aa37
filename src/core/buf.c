/* Capped growable buffer. */
#include "core/buf.h"

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"

void osp_buf_init(osp_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max ? max : SIZE_MAX;
}

void osp_buf_cleanup(osp_buf *b)
{
    osp_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int osp_buf_reserve(osp_buf *b, size_t n)
{
    if (n > b->max - b->len)
        return OSP_ETOOBIG;
    size_t need = b->len + n;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max)
        cap = b->max;
    char *d = osp_realloc(b->data, cap);
    if (!d)
        return OSP_ENOMEM;
    b->data = d;
    b->cap = cap;
    return 0;
}

int osp__buf_append_grow(osp_buf *b, const void *p, size_t n)
{
    int rc = osp_buf_reserve(b, n);
    if (rc)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int osp_buf_puts(osp_buf *b, const char *z)
{
    return osp_buf_append(b, z, strlen(z));
}

int osp_buf_vprintf(osp_buf *b, const char *fmt, va_list ap)
{
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return OSP_EINVAL;
    if ((size_t)n < sizeof small)
        return osp_buf_append(b, small, (size_t)n);
    int rc = osp_buf_reserve(b, (size_t)n + 1);
    if (rc)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int osp_buf_printf(osp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = osp_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (len == 0 || len > avail)
        return 0;
    return osp_utf8_valid((const char *)s, len) ? len : 0;
}

int osp_buf_json_str(osp_buf *b, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)p;
    int rc = osp_buf_putc(b, '"');
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    for (size_t i = 0; i < n && rc == 0;) {
        unsigned char c = s[i];
        const char *esc = NULL;
        char ubuf[6];
        size_t skip = 1;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20) {
            memcpy(ubuf, "\\u00", 4);
            ubuf[4] = hex[c >> 4];
            ubuf[5] = hex[c & 15];
            rc = osp_buf_append(b, s + run, i - run);
            if (rc == 0)
                rc = osp_buf_append(b, ubuf, 6);
            run = ++i;
            continue;
        } else if (c >= 0x80) {
            size_t len = utf8_seq(s + i, n - i);
            if (len) {
                i += len;
                continue;
            }
            esc = "\xEF\xBF\xBD"; /* U+FFFD */
        }
        if (esc) {
            rc = osp_buf_append(b, s + run, i - run);
            if (rc == 0)
                rc = osp_buf_puts(b, esc);
            i += skip;
            run = i;
        } else {
            i++;
        }
    }
    if (rc == 0 && n > run) /* s may be NULL when n is 0 */
        rc = osp_buf_append(b, s + run, n - run);
    if (rc == 0)
        rc = osp_buf_putc(b, '"');
    return rc;
}

char *osp_buf_steal(osp_buf *b, size_t *len)
{
    char *d = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}
