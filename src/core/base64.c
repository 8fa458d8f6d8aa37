/* Base64 codec (RFC 4648 standard and URL-safe alphabets). */
#include "core/base64.h"

#include "core/err.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t osp_base64_encode(const uint8_t *in, size_t n, char *out)
{
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    return (size_t)(o - out);
}

/* Value of one base64 character (either alphabet), or -1. */
static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

int osp_base64_decode(osp_str in, osp_buf *out)
{
    const unsigned char *s = (const unsigned char *)in.p;
    size_t n = in.n;
    /* Strip up to two '=' of padding; padded input must then be a multiple of 4 long. */
    size_t pad = 0;
    while (pad < 2 && n > 0 && s[n - 1] == '=') {
        n--;
        pad++;
    }
    if ((pad && (n + pad) % 4 != 0) || n % 4 == 1)
        return OSP_EPARSE;
    if (n == 0)
        return 0;
    size_t need = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    int rc = osp_buf_reserve(out, need);
    if (rc)
        return rc;
    uint8_t *o = (uint8_t *)out->data + out->len;
    uint32_t acc = 0;
    size_t i = 0;
    for (; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0)
            return OSP_EPARSE;
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            *o++ = (uint8_t)(acc >> 16);
            *o++ = (uint8_t)(acc >> 8);
            *o++ = (uint8_t)acc;
            acc = 0;
        }
    }
    if (n % 4 == 2) {
        *o++ = (uint8_t)(acc >> 4);
    } else if (n % 4 == 3) {
        *o++ = (uint8_t)(acc >> 10);
        *o++ = (uint8_t)(acc >> 2);
    }
    out->len += need;
    return 0;
}
