/* Query-API parameter parsing: durations, times, limits, trace ids and tag filters. */
#include "query/params.h"

#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/rfc3339.h"
#include "core/json.h"

#define NS_PER_S 1000000000ULL

typedef struct duration_unit {
    const char *name;
    uint64_t ns;
} duration_unit;

/* Go's units first; the last two are accepted only in a lookback. */
static const duration_unit units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* U+00B5 MICRO SIGN */
    {"\xce\xbcs", 1000}, /* U+03BC GREEK SMALL LETTER MU */
    {"ms", 1000000},
    {"s", NS_PER_S},
    {"m", 60 * NS_PER_S},
    {"h", 3600 * NS_PER_S},
    {"d", 86400 * NS_PER_S},
    {"w", 7 * 86400 * NS_PER_S},
};
#define GO_UNITS 8
#define ALL_UNITS (sizeof units / sizeof units[0])

static const char DURATION_HINT[] = "expected a duration like 250ms, 1.5s, 2m or 1h";
static const char LOOKBACK_HINT[] = "expected a duration like 1h or 2d";
static const char TIME_HINT[] =
    "expected unix nanoseconds or an RFC 3339 time like 2024-05-01T12:00:00Z";
static const char RANGE_HINT[] = "out of range";

/* Fills err with `invalid NAME "TEXT": REASON` and returns OSP_EINVAL. */
static int fail(osp_param_err *err, const char *name, osp_str text, const char *reason)
{
    size_t n = text.n > OSP_PARAM_ECHO_MAX ? OSP_PARAM_ECHO_MAX : text.n;
    snprintf(err->msg, sizeof err->msg, "invalid %s \"%.*s%s\": %s", name, (int)n, n ? text.p : "",
             n < text.n ? "..." : "", reason);
    return OSP_EINVAL;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A non-empty run of decimal digits that fits in uint64. 0 or -1. */
static int parse_u64(osp_str t, uint64_t *v)
{
    uint64_t x = 0;
    if (t.n == 0)
        return -1;
    for (size_t i = 0; i < t.n; i++) {
        unsigned d = (unsigned)(t.p[i] - '0');
        if (!is_digit(t.p[i]) || x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}

/* *acc += a * b, failing on overflow. */
static int add_product(uint64_t *acc, uint64_t a, uint64_t b)
{
    if (b && a > UINT64_MAX / b)
        return -1;
    if (*acc > UINT64_MAX - a * b)
        return -1;
    *acc += a * b;
    return 0;
}

/* Go's time.ParseDuration grammar without negative values, over the first nunits units.
 * Returns 0, or sets *why and returns OSP_EINVAL. */
static int parse_duration(osp_str t, size_t nunits, uint64_t *out, const char **why)
{
    size_t i = 0;
    uint64_t total = 0;
    if (t.n && t.p[0] == '-') {
        *why = "must not be negative";
        return OSP_EINVAL;
    }
    if (t.n && t.p[0] == '+')
        i++;
    if (i == t.n)
        return OSP_EINVAL;
    if (t.n - i == 1 && t.p[i] == '0') {
        *out = 0;
        return 0;
    }
    while (i < t.n) {
        uint64_t whole = 0, frac = 0, scale = 1;
        size_t ndigits = 0;
        for (; i < t.n && is_digit(t.p[i]); i++, ndigits++) {
            unsigned d = (unsigned)(t.p[i] - '0');
            if (whole > (UINT64_MAX - d) / 10) {
                *why = RANGE_HINT;
                return OSP_EINVAL;
            }
            whole = whole * 10 + d;
        }
        if (i < t.n && t.p[i] == '.') {
            /* Digits past 18 cannot change the value by a whole nanosecond. */
            for (i++; i < t.n && is_digit(t.p[i]); i++, ndigits++) {
                if (scale < 1000000000000000000ULL) {
                    frac = frac * 10 + (uint64_t)(t.p[i] - '0');
                    scale *= 10;
                }
            }
        }
        if (ndigits == 0)
            return OSP_EINVAL;
        size_t u0 = i;
        while (i < t.n && t.p[i] != '.' && !is_digit(t.p[i]))
            i++;
        osp_str uname = osp_str_make(t.p + u0, i - u0);
        const duration_unit *u = NULL;
        for (size_t k = 0; k < nunits && !u; k++)
            if (osp_str_eqz(uname, units[k].name))
                u = &units[k];
        if (!u)
            return OSP_EINVAL;
        uint64_t part = (uint64_t)((unsigned __int128)frac * u->ns / scale);
        if (add_product(&total, whole, u->ns) || add_product(&total, part, 1)) {
            *why = RANGE_HINT;
            return OSP_EINVAL;
        }
    }
    *out = total;
    return 0;
}

int osp_param_duration(const char *name, osp_str text, uint64_t *ns, osp_param_err *err)
{
    const char *why = DURATION_HINT;
    if (parse_duration(text, GO_UNITS, ns, &why))
        return fail(err, name, text, why);
    return 0;
}

int osp_param_lookback(const char *name, osp_str text, uint64_t *ns, osp_param_err *err)
{
    const char *why = LOOKBACK_HINT;
    if (parse_duration(text, ALL_UNITS, ns, &why))
        return fail(err, name, text, why);
    return 0;
}

int osp_param_time(const char *name, osp_str text, uint64_t *ns, osp_param_err *err)
{
    const char *why = TIME_HINT;
    size_t i = 0;
    while (i < text.n && is_digit(text.p[i]))
        i++;
    if (text.n && i == text.n)
        return parse_u64(text, ns) ? fail(err, name, text, RANGE_HINT) : 0;
    int rc = osp_rfc3339_parse(text, ns);
    if (rc)
        return fail(err, name, text, rc == OSP_ETOOBIG ? RANGE_HINT : why);
    return 0;
}

int osp_param_time_us(const char *name, osp_str text, uint64_t *ns, osp_param_err *err)
{
    uint64_t us;
    if (parse_u64(text, &us))
        return fail(err, name, text, "expected unix microseconds");
    if (us > UINT64_MAX / 1000)
        return fail(err, name, text, RANGE_HINT);
    *ns = us * 1000;
    return 0;
}

int osp_param_limit(const char *name, osp_str text, size_t max, size_t *limit, osp_param_err *err)
{
    uint64_t v;
    if (parse_u64(text, &v) || v < 1 || v > max) {
        char why[64];
        snprintf(why, sizeof why, "expected an integer from 1 to %zu", max);
        return fail(err, name, text, why);
    }
    *limit = (size_t)v;
    return 0;
}

int osp_param_status(const char *name, osp_str text, int *status, osp_param_err *err)
{
    if (osp_str_ieq(text, OSP_STR_LIT("ok")))
        *status = OSP_STATUS_OK;
    else if (osp_str_ieq(text, OSP_STR_LIT("error")))
        *status = OSP_STATUS_ERROR;
    else if (osp_str_ieq(text, OSP_STR_LIT("unset")))
        *status = OSP_STATUS_UNSET;
    else
        return fail(err, name, text, "expected ok, error or unset");
    return 0;
}

int osp_param_trace_id(const char *name, osp_str text, uint8_t id[16], osp_param_err *err)
{
    int rc = OSP_EPARSE;
    if (text.n == 32) {
        rc = osp_hex_decode(text.p, 16, id);
    } else if (text.n == 16) {
        memset(id, 0, 8);
        rc = osp_hex_decode(text.p, 8, id + 8);
    }
    if (rc)
        return fail(err, name, text, "expected 32 hex characters (or 16 for a 64-bit id)");
    return 0;
}

/* Copies (key, value) into arena as filters[*n]. 0, OSP_ETOOBIG past max, OSP_ENOMEM. */
static int add_filter(osp_arena *arena, osp_attr_filter *filters, size_t max, size_t *n,
                      osp_str key, osp_str value)
{
    if (*n >= max)
        return OSP_ETOOBIG;
    osp_attr_filter f = {osp_arena_strdup(arena, key), osp_arena_strdup(arena, value)};
    if (!f.key.p || !f.value.p)
        return OSP_ENOMEM;
    filters[(*n)++] = f;
    return 0;
}

static const char TAGS_HINT[] = "expected a JSON object of strings or key=value pairs";

/* Turns add_filter's and the parsers' failures into the function's contract. */
static int tags_fail(osp_param_err *err, const char *name, osp_str text, int rc, size_t max,
                     const char *detail)
{
    char why[200];
    if (rc == OSP_ENOMEM)
        return rc;
    if (rc == OSP_ETOOBIG)
        snprintf(why, sizeof why, "at most %zu tag filters are allowed", max);
    else if (detail && *detail)
        snprintf(why, sizeof why, "%s (%s)", TAGS_HINT, detail);
    else
        snprintf(why, sizeof why, "%s", TAGS_HINT);
    return fail(err, name, text, why);
}

/* {"k":"v",...}: strings, numbers and booleans as values. */
static int tags_json(const char *name, osp_str text, osp_arena *arena, osp_attr_filter *filters,
                     size_t max, size_t *n, osp_param_err *err)
{
    osp_buf scratch;
    osp_json_reader r;
    osp_json_token t;
    osp_str key = OSP_STR_NULL;
    const char *detail = NULL;
    int rc;
    osp_buf_init(&scratch, text.n + 1); /* unescaping never lengthens a string */
    osp_json_reader_init(&r, text, &scratch);
    rc = osp_json_next(&r, &t);
    if (rc == 1 && t.type != OSP_JSON_OBJECT_BEGIN)
        rc = OSP_EPARSE;
    while (rc == 1) {
        rc = osp_json_next(&r, &t);
        if (rc != 1 || t.type == OSP_JSON_OBJECT_END)
            break;
        key = osp_arena_strdup(arena, t.s); /* t.s may live in scratch */
        if (!key.p) {
            rc = OSP_ENOMEM;
            break;
        }
        rc = osp_json_next(&r, &t);
        if (rc != 1)
            break;
        if (t.type == OSP_JSON_TRUE)
            t.s = OSP_STR_LIT("true");
        else if (t.type == OSP_JSON_FALSE)
            t.s = OSP_STR_LIT("false");
        else if (t.type != OSP_JSON_STRING && t.type != OSP_JSON_NUMBER)
            detail = "values must be strings";
        if (!detail && key.n == 0)
            detail = "keys must not be empty";
        rc = detail ? OSP_EPARSE : add_filter(arena, filters, max, n, key, t.s);
        if (rc == 0)
            rc = 1;
    }
    if (rc == 1 && t.type == OSP_JSON_OBJECT_END)
        rc = osp_json_next(&r, &t) == 0 ? 0 : OSP_EPARSE;
    if (rc && !detail)
        detail = r.err;
    if (rc)
        rc = tags_fail(err, name, text, rc, max, detail);
    osp_buf_cleanup(&scratch);
    return rc;
}

/* key=value key2="quoted \" value" bare */
static int tags_logfmt(const char *name, osp_str text, osp_arena *arena, osp_attr_filter *filters,
                       size_t max, size_t *n, osp_param_err *err)
{
    const char *p = text.p, *end = text.p + text.n;
    const char *detail = NULL;
    int rc = 0;
    while (rc == 0) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end)
            break;
        const char *k = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != '=' && *p != '"')
            p++;
        osp_str key = osp_str_make(k, (size_t)(p - k)), value = OSP_STR_LIT("true");
        if (key.n == 0 || (p < end && *p == '"')) {
            detail = "keys must not be empty or quoted";
            rc = OSP_EPARSE;
            break;
        }
        if (p < end && *p == '=' && ++p < end && *p == '"') {
            char *v = osp_arena_alloc(arena, (size_t)(end - p));
            size_t vn = 0;
            if (!v) {
                rc = OSP_ENOMEM;
                break;
            }
            for (p++; p < end && *p != '"'; p++) {
                if (*p == '\\' && p + 1 < end)
                    p++;
                v[vn++] = *p;
            }
            if (p == end || (p + 1 < end && p[1] != ' ' && p[1] != '\t')) {
                detail = "unterminated or malformed quoted value";
                rc = OSP_EPARSE;
                break;
            }
            p++;
            value = osp_str_make(v, vn);
        } else if (p > k + key.n) {
            const char *v = p;
            while (p < end && *p != ' ' && *p != '\t')
                p++;
            value = osp_str_make(v, (size_t)(p - v));
        }
        rc = add_filter(arena, filters, max, n, key, value);
    }
    return rc ? tags_fail(err, name, text, rc, max, detail) : 0;
}

int osp_param_tags(const char *name, osp_str text, osp_arena *arena, osp_attr_filter *filters,
                   size_t max, size_t *n, osp_param_err *err)
{
    size_t i = 0;
    while (i < text.n && (text.p[i] == ' ' || text.p[i] == '\t'))
        i++;
    if (i < text.n && text.p[i] == '{')
        return tags_json(name, text, arena, filters, max, n, err);
    return tags_logfmt(name, text, arena, filters, max, n, err);
}
