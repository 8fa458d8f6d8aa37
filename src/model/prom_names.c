/* Prometheus names for OTLP metrics: metric family names with unit and type suffixes, label
 * names and units (model/otlp_prom.h). The rules are those of the
 * OpenTelemetry compatibility spec as the Prometheus OTLP translator applies them. */
#include "model/otlp_prom.h"

#include <string.h>

#include "core/err.h"
#include "core/mem.h"

typedef struct unit_word {
    const char *ucum, *word;
} unit_word;

static const unit_word units[] = {
    {"d", "days"},          {"h", "hours"},        {"min", "minutes"},     {"s", "seconds"},
    {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}, {"By", "bytes"},
    {"KiBy", "kibibytes"},  {"MiBy", "mebibytes"}, {"GiBy", "gibibytes"},  {"TiBy", "tebibytes"},
    {"KBy", "kilobytes"},   {"MBy", "megabytes"},  {"GBy", "gigabytes"},   {"TBy", "terabytes"},
    {"m", "meters"},        {"V", "volts"},        {"A", "amperes"},       {"J", "joules"},
    {"W", "watts"},         {"g", "grams"},        {"Cel", "celsius"},     {"Hz", "hertz"},
    {"1", ""},              {"%", "percent"},
};
static const unit_word per_units[] = {
    {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
    {"w", "week"},   {"mo", "month"}, {"y", "year"},
};

static int metric_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The word for a unit part, or the part itself; empty for an annotation. */
static osp_str unit_part(osp_str part, const unit_word *map, size_t n)
{
    part = osp_str_trim_blanks(part);
    if (memchr(part.p ? part.p : "", '{', part.n) || memchr(part.p ? part.p : "", '}', part.n))
        return OSP_STR_NULL;
    for (size_t i = 0; i < n; i++)
        if (osp_str_eqz(part, map[i].ucum))
            return osp_str_c(map[i].word);
    return part;
}

/* Appends s with characters outside [a-zA-Z0-9:] as '_', runs of '_' as one, and no
 * leading '_' (the translator's cleanUpUnit). */
static int put_clean(osp_buf *out, osp_str s)
{
    size_t start = out->len;
    int rc = 0;
    for (size_t i = 0; i < s.n && rc == 0; i++) {
        char c = metric_char(s.p[i]) ? s.p[i] : '_';
        if (c == '_' && (out->len == start || out->data[out->len - 1] == '_'))
            continue;
        rc = osp_buf_putc(out, c);
    }
    return rc;
}

/* The two unit suffixes, cleaned: main ("bytes") and per ("per_second"), each possibly
 * ending with '_'; in bufs the caller owns. */
static int unit_suffixes(osp_str unit, osp_buf *main_out, osp_buf *per_out)
{
    const char *slash = unit.n ? memchr(unit.p, '/', unit.n) : NULL;
    osp_str main = unit, per = OSP_STR_NULL;
    int rc;
    if (slash) {
        main.n = (size_t)(slash - unit.p);
        per = osp_str_make(slash + 1, unit.n - main.n - 1);
    }
    if ((rc = put_clean(main_out, unit_part(main, units, sizeof units / sizeof *units))) != 0)
        return rc;
    osp_str p = unit_part(per, per_units, sizeof per_units / sizeof *per_units);
    if (p.n && ((rc = osp_buf_puts(per_out, "per_")) != 0 || (rc = put_clean(per_out, p)) != 0))
        return rc;
    return 0;
}

static void trim_underscore(osp_buf *b)
{
    if (b->len && b->data[b->len - 1] == '_')
        b->len--;
}

int osp_prom_unit(osp_str unit, osp_buf *out)
{
    osp_buf main, per;
    osp_buf_init(&main, 0);
    osp_buf_init(&per, 0);
    int rc = unit_suffixes(unit, &main, &per);
    if (rc == 0 && per.len == 4) /* "per_" of nothing */
        per.len = 0;
    trim_underscore(&main);
    trim_underscore(&per);
    if (rc == 0)
        rc = osp_buf_append(out, main.data, main.len);
    if (rc == 0 && main.len && per.len)
        rc = osp_buf_putc(out, '_');
    if (rc == 0)
        rc = osp_buf_append(out, per.data, per.len);
    osp_buf_cleanup(&main);
    osp_buf_cleanup(&per);
    return rc;
}

/* 1 when one of the n tokens equals s. */
static int has_token(const osp_str *tok, size_t n, osp_str s)
{
    for (size_t i = 0; i < n; i++)
        if (osp_str_eq(tok[i], s))
            return 1;
    return 0;
}

int osp_prom_metric_name(osp_str name, osp_str unit, int counter, int gauge, int naming,
                         osp_buf *out, int *total)
{
    *total = 0;
    if (naming == OSP_PROM_NO_TRANSLATION)
        return osp_buf_append_str(out, name);
    osp_buf main, per;
    size_t ntok = 0, start = out->len;
    /* name tokens alternate with separators, plus main, per and ratio */
    osp_str *tok = osp_malloc((name.n / 2 + 4) * sizeof *tok);
    int rc = tok ? 0 : OSP_ENOMEM;
    osp_buf_init(&main, 0);
    osp_buf_init(&per, 0);
    for (size_t i = 0; rc == 0 && i < name.n;) {
        size_t j = i;
        while (j < name.n && metric_char(name.p[j]))
            j++;
        if (j > i)
            tok[ntok++] = osp_str_make(name.p + i, j - i);
        i = j > i ? j : j + 1;
    }
    if (rc == 0)
        rc = unit_suffixes(unit, &main, &per);
    if (rc == 0) {
        if (per.len == 4) /* "per_" of nothing; name tokens never hold the '_' of "per_x" */
            per.len = 0;
        trim_underscore(&per);
        if (has_token(tok, ntok, osp_buf_str(&main)))
            main.len = 0;
        if (per.len)
            trim_underscore(&main);
        if (main.len)
            tok[ntok++] = osp_buf_str(&main);
        if (per.len)
            tok[ntok++] = osp_buf_str(&per);
    }
    int ratio = gauge && osp_str_eqz(unit, "1");
    size_t k = 0;
    for (size_t i = 0; rc == 0 && i < ntok; i++) {
        if ((counter && osp_str_eqz(tok[i], "total")) || (ratio && osp_str_eqz(tok[i], "ratio")))
            continue;
        tok[k++] = tok[i];
    }
    if (ratio)
        tok[k++] = OSP_STR_LIT("ratio");
    if (k && is_digit(tok[0].p[0]))
        rc = osp_buf_putc(out, '_');
    for (size_t i = 0; rc == 0 && i < k; i++) {
        if (i)
            rc = osp_buf_putc(out, '_');
        if (rc == 0)
            rc = osp_buf_append_str(out, tok[i]);
    }
    if (rc == 0 && out->len > start)
        *total = counter;
    osp_free(tok);
    osp_buf_cleanup(&main);
    osp_buf_cleanup(&per);
    return rc;
}

/* Bytes in the UTF-8 character that starts with byte c. */
static size_t utf8_len(unsigned char c)
{
    return c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

int osp_prom_label_name(osp_str key, int naming, osp_buf *out)
{
    if (naming == OSP_PROM_NO_TRANSLATION || key.n == 0)
        return osp_buf_append_str(out, key);
    int rc = 0;
    if (is_digit(key.p[0]))
        rc = osp_buf_puts(out, "key_");
    else if (key.p[0] == '_' || !metric_char(key.p[0]) || key.p[0] == ':')
        rc = osp_buf_puts(out, "key"); /* the name would start with '_' */
    for (size_t i = 0; rc == 0 && i < key.n;) {
        char c = key.p[i];
        size_t n = utf8_len((unsigned char)c);
        rc = osp_buf_putc(out, metric_char(c) && c != ':' ? c : '_');
        i += n;
    }
    return rc;
}
