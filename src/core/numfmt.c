/* Shortest round-trip float formatting (core/numfmt.h). The digits come from printf's
 * %.*e at increasing precision until strtod reads the same double back; the layout then
 * follows Go's 'f' and 'g' formats. */
#include "core/numfmt.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shortest decimal digits of finite v != 0: digits without sign or point into d (NUL
 * terminated, at most 17), and the decimal exponent of the first digit. Returns the digit
 * count. When 15 significant digits read back as v, they are the shortest form once
 * trailing zeros go (the 15-digit grid is far coarser than a double's spacing, so no other
 * point of it, shorter or not, lies within half a unit in the last place); otherwise no
 * form of 15 digits or fewer reads back, and the nearest 16-digit one, else 17 digits, is
 * the shortest (and the closest, as Go picks among equally short ones). Subnormals,
 * with fewer significant bits, are searched from one digit up. */
static int shortest_digits(double v, char d[18], int *exp10)
{
    char tmp[40];
    /* subnormals have fewer significant bits: their shortest form is searched from 1 */
    for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, fabs(v));
        if (strtod(tmp, NULL) == fabs(v) || prec == 17) {
            int n = 0;
            const char *p = tmp;
            for (; *p && *p != 'e'; p++)
                if (*p >= '0' && *p <= '9')
                    d[n++] = *p;
            while (n > 1 && d[n - 1] == '0')
                n--;
            d[n] = 0;
            *exp10 = atoi(p + 1);
            return n;
        }
    }
    return 0; /* not reached */
}

static int special(double v, const char **out)
{
    if (isnan(v))
        *out = "NaN";
    else if (isinf(v))
        *out = v > 0 ? "+Inf" : "-Inf";
    else if (v == 0)
        *out = signbit(v) ? "-0" : "0";
    else
        return 0;
    return 1;
}

int osp_buf_float(osp_buf *b, double v)
{
    const char *sp;
    char d[18];
    int e, rc = 0;
    if (special(v, &sp))
        return osp_buf_puts(b, sp);
    if (fabs(v) < 1e15 && v == (double)(int64_t)v) /* whole numbers: their digits are it */
        return osp_buf_printf(b, "%" PRId64, (int64_t)v);
    int n = shortest_digits(v, d, &e);
    if (v < 0)
        rc |= osp_buf_putc(b, '-');
    if (e < 0) {
        rc |= osp_buf_puts(b, "0.");
        for (int i = 0; i < -e - 1; i++)
            rc |= osp_buf_putc(b, '0');
        rc |= osp_buf_append(b, d, (size_t)n);
    } else if (e + 1 >= n) {
        rc |= osp_buf_append(b, d, (size_t)n);
        for (int i = 0; i < e + 1 - n; i++)
            rc |= osp_buf_putc(b, '0');
    } else {
        rc |= osp_buf_append(b, d, (size_t)e + 1);
        rc |= osp_buf_putc(b, '.');
        rc |= osp_buf_append(b, d + e + 1, (size_t)(n - e - 1));
    }
    return rc ? rc : 0;
}

/* Go's 'e' form of the shortest digits: d.ddde±XX. */
static size_t exp_form(const char *d, int n, int e, int negative, char *out)
{
    char *o = out;
    if (negative)
        *o++ = '-';
    *o++ = d[0];
    if (n > 1) {
        *o++ = '.';
        memcpy(o, d + 1, (size_t)(n - 1));
        o += n - 1;
    }
    o += snprintf(o, 8, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    *o = 0;
    return (size_t)(o - out);
}

int osp_buf_float_prom(osp_buf *b, double v)
{
    double a = fabs(v);
    if (isnan(v) || isinf(v) || a == 0 || (a >= 1e-6 && a < 1e21))
        return osp_buf_float(b, v);
    char d[18], out[OSP_FLOAT_G_MAX];
    int e, n = shortest_digits(v, d, &e);
    return osp_buf_append(b, out, exp_form(d, n, e, v < 0, out));
}

size_t osp_format_float_g(double v, char out[OSP_FLOAT_G_MAX])
{
    const char *sp;
    char d[18];
    int e;
    if (special(v, &sp))
        return (size_t)snprintf(out, OSP_FLOAT_G_MAX, "%s", sp);
    int n = shortest_digits(v, d, &e);
    /* Go's shortest %g: the exponent form when the exponent is below -4 or at least 6. */
    if (e < -4 || e >= 6)
        return exp_form(d, n, e, v < 0, out);
    char *o = out;
    if (v < 0)
        *o++ = '-';
    if (e < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -e - 1; i++)
            *o++ = '0';
        memcpy(o, d, (size_t)n);
        o += n;
    } else if (e + 1 >= n) {
        memcpy(o, d, (size_t)n);
        o += n;
        for (int i = 0; i < e + 1 - n; i++)
            *o++ = '0';
    } else {
        memcpy(o, d, (size_t)e + 1);
        o += e + 1;
        *o++ = '.';
        memcpy(o, d + e + 1, (size_t)(n - e - 1));
        o += n - e - 1;
    }
    *o = 0;
    return (size_t)(o - out);
}
