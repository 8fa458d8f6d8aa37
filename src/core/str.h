/* Borrowed byte slices: pointer and length into memory someone else owns. */
#ifndef OSP_CORE_STR_H
#define OSP_CORE_STR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct osp_str {
    const char *p; /* not NUL-terminated; may be NULL when n == 0 */
    size_t n;
} osp_str;

#define OSP_STR_LIT(s) ((osp_str){(s), sizeof(s) - 1})
#define OSP_STR_NULL ((osp_str){NULL, 0})
#define OSP_STR_FMT(s) (int)(s).n, (s).p /* for printf("%.*s", OSP_STR_FMT(s)) */

static inline osp_str osp_str_make(const char *p, size_t n)
{
    return (osp_str){p, n};
}

static inline osp_str osp_str_c(const char *z)
{
    return (osp_str){z, z ? strlen(z) : 0};
}

static inline int osp_str_eq(osp_str a, osp_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static inline int osp_str_eqz(osp_str a, const char *z)
{
    return osp_str_eq(a, osp_str_c(z));
}

/* ASCII case-insensitive equality. */
int osp_str_ieq(osp_str a, osp_str b);
/* 1 if s starts with prefix. */
int osp_str_has_prefix(osp_str s, osp_str prefix);
/* Lexicographic compare like memcmp, shorter first on a tie. */
int osp_str_cmp(osp_str a, osp_str b);
/* 1 if s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int osp_utf8_valid(const char *p, size_t n);
/* 1 if s is well-formed UTF-8 holding no U+FFFD (the replacement character Go's decoders
 * leave where bytes were bad, which Loki's parsers refuse as they refuse bad bytes). */
int osp_utf8_clean(const char *p, size_t n);

/* Bytes osp_str_printable writes at most: 48 shown, "..." and the NUL. */
#define OSP_STR_PRINTABLE_SIZE 52
/* A copy of s that is safe to show in a message between double quotes: its first 48 bytes,
 * each byte outside ' '..'~' and each '"' replaced by '?', then "..." when s is longer.
 * Writes it NUL-terminated into out (OSP_STR_PRINTABLE_SIZE bytes) and returns out. */
const char *osp_str_printable(osp_str s, char out[OSP_STR_PRINTABLE_SIZE]);
/* Writes "offset OFF: " and then fmt formatted with ap into err (errlen bytes, NUL-terminated,
 * cut to fit), as parsers say where their input went wrong; nothing when err is NULL or
 * errlen is 0. */
void osp_vmsg_at_offset(char *err, size_t errlen, size_t off, const char *fmt, va_list ap);

/* s without its leading and trailing spaces and tabs (HTTP's optional whitespace). */
osp_str osp_str_trim_blanks(osp_str s);

/* Lowercase hex of n bytes into out (2n chars, no NUL). */
void osp_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes exactly 2n hex chars (either case) into n bytes; OSP_EPARSE on a bad digit. */
int osp_hex_decode(const char *in, size_t n, uint8_t *out);

#endif
