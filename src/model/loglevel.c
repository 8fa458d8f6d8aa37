/* Log levels as Loki 3 discovers them (model/loglevel.h). */
#include "model/loglevel.h"

#include <string.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/logfmt.h"

/* Loki's default log_level_fields, in the order it looks them up. Each begins with an l or
 * an s, in either case (rank_of relies on it). */
static const char *const level_fields[] = {
    "level",    "LEVEL",         "Level",         "log.level",     "severity",
    "SEVERITY", "Severity",      "SeverityText",  "lvl",           "LVL",
    "Lvl",      "severity_text", "Severity_Text", "SEVERITY_TEXT",
};
#define NFIELDS (sizeof level_fields / sizeof *level_fields)

/* JSON objects nested deeper than this are not searched (Loki's default
 * log_level_from_json_max_depth): the top object and the objects in it. */
#define JSON_MAX_DEPTH 2

static const char *const names[OSP_LINE_LEVEL_COUNT] = {
    [OSP_LINE_LEVEL_UNKNOWN] = "unknown",   [OSP_LINE_LEVEL_TRACE] = "trace",
    [OSP_LINE_LEVEL_DEBUG] = "debug",       [OSP_LINE_LEVEL_INFO] = "info",
    [OSP_LINE_LEVEL_WARN] = "warn",         [OSP_LINE_LEVEL_ERROR] = "error",
    [OSP_LINE_LEVEL_CRITICAL] = "critical", [OSP_LINE_LEVEL_FATAL] = "fatal",
};

const char *osp_line_level_name(osp_line_level l)
{
    return (unsigned)l < OSP_LINE_LEVEL_COUNT ? names[l] : NULL;
}

static int lower(char c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* 1 when the n bytes at p are those at w, ignoring ASCII case. */
static int same_fold(const char *p, const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower(p[i]) != lower(w[i]))
            return 0;
    return 1;
}

/* 1 when s is w, ignoring case (its first letters compared before its length is taken). */
static int eq_fold(osp_str s, const char *w)
{
    if (!s.n || lower(s.p[0]) != lower(w[0]))
        return 0;
    size_t n = strlen(w);
    return s.n == n && same_fold(s.p, w, n);
}

osp_line_level osp_level_of_word(osp_str word)
{
    static const struct {
        const char *w;
        osp_line_level l;
    } words[] = {
        {"trace", OSP_LINE_LEVEL_TRACE},       {"trc", OSP_LINE_LEVEL_TRACE},
        {"debug", OSP_LINE_LEVEL_DEBUG},       {"dbg", OSP_LINE_LEVEL_DEBUG},
        {"info", OSP_LINE_LEVEL_INFO},         {"inf", OSP_LINE_LEVEL_INFO},
        {"information", OSP_LINE_LEVEL_INFO},  {"warn", OSP_LINE_LEVEL_WARN},
        {"wrn", OSP_LINE_LEVEL_WARN},          {"warning", OSP_LINE_LEVEL_WARN},
        {"error", OSP_LINE_LEVEL_ERROR},       {"err", OSP_LINE_LEVEL_ERROR},
        {"critical", OSP_LINE_LEVEL_CRITICAL}, {"fatal", OSP_LINE_LEVEL_FATAL},
    };
    if (word.n < 3 || word.n > 11)
        return OSP_LINE_LEVEL_UNSET;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (eq_fold(word, words[i].w))
            return words[i].l;
    return OSP_LINE_LEVEL_UNSET;
}

osp_line_level osp_level_of_severity(int32_t n)
{
    if (n == 0 || n > 24)
        return OSP_LINE_LEVEL_UNKNOWN;
    static const osp_line_level by_step[] = {
        OSP_LINE_LEVEL_TRACE, OSP_LINE_LEVEL_DEBUG, OSP_LINE_LEVEL_INFO,
        OSP_LINE_LEVEL_WARN,  OSP_LINE_LEVEL_ERROR, OSP_LINE_LEVEL_FATAL,
    };
    return n < 1 ? OSP_LINE_LEVEL_TRACE : by_step[(n - 1) / 4];
}

/* The rank of the first level field equal to name, ignoring case when fold (logfmt keys),
 * or -1. Most keys are no level field by their first byte alone. */
static int rank_of(osp_str name, int fold)
{
    if (name.n < 3 || name.n > 13 || (lower(name.p[0]) != 'l' && lower(name.p[0]) != 's'))
        return -1;
    for (size_t i = 0; i < NFIELDS; i++)
        if (fold ? eq_fold(name, level_fields[i]) : osp_str_eqz(name, level_fields[i]))
            return (int)i;
    return -1;
}

int osp_level_field_rank(osp_str name)
{
    return rank_of(name, 0);
}

size_t osp_level_fields(const char *const **fields)
{
    *fields = level_fields;
    return NFIELDS;
}

/* 1 when some byte c of text has a level field's letters around it. */
static int v_in_field(osp_str text, char c)
{
    const char *p = text.p, *end = text.p + text.n;
    while ((p = memchr(p, c, (size_t)(end - p)))) {
        size_t i = (size_t)(p - text.p);
        if (i >= 2 && lower(p[-1]) == 'e' && (lower(p[-2]) == 'l' || lower(p[-2]) == 's'))
            return 1;
        if (i >= 1 && p + 1 < end && lower(p[-1]) == 'l' && lower(p[1]) == 'l')
            return 1;
        p++;
    }
    return 0;
}

int osp_level_field_may_occur(osp_str text)
{
    return text.n >= 3 && (v_in_field(text, 'v') || v_in_field(text, 'V'));
}

/* What a byte may be around a level word in a line: before one (a colon may not: misc:error
 * is a key and its value, not a level), after one ("debug: message", level="warn",
 * [ERROR]), or its first letter. */
enum { LEFT = 1, RIGHT = 2, FIRST = 4 };
static const unsigned char word_class[256] = {
    [' '] = LEFT | RIGHT, ['\t'] = LEFT | RIGHT, ['\n'] = LEFT | RIGHT, ['['] = LEFT | RIGHT,
    ['('] = LEFT | RIGHT, ['{'] = LEFT | RIGHT,  ['"'] = LEFT | RIGHT,  ['='] = LEFT | RIGHT,
    [']'] = RIGHT,        [')'] = RIGHT,         ['}'] = RIGHT,         [':'] = RIGHT,
    [','] = RIGHT,        ['!'] = RIGHT,         ['t'] = FIRST,         ['T'] = FIRST,
    ['d'] = FIRST,        ['D'] = FIRST,         ['f'] = FIRST,         ['F'] = FIRST,
    ['c'] = FIRST,        ['C'] = FIRST,         ['e'] = FIRST,         ['E'] = FIRST,
    ['w'] = FIRST,        ['W'] = FIRST,         ['i'] = FIRST,         ['I'] = FIRST,
};

/* Loki's scan of a line for a level word standing alone, in any case: the earliest wins,
 * and of two at one place the first in this list. */
static osp_line_level level_by_words(osp_str line)
{
    static const struct {
        const char *w;
        size_t n;
        osp_line_level l;
    } words[] = {
        {"trace", 5, OSP_LINE_LEVEL_TRACE},  {"debug", 5, OSP_LINE_LEVEL_DEBUG},
        {"fatal", 5, OSP_LINE_LEVEL_FATAL},  {"critical", 8, OSP_LINE_LEVEL_CRITICAL},
        {"error", 5, OSP_LINE_LEVEL_ERROR},  {"err", 3, OSP_LINE_LEVEL_ERROR},
        {"warning", 7, OSP_LINE_LEVEL_WARN}, {"warn", 4, OSP_LINE_LEVEL_WARN},
        {"info", 4, OSP_LINE_LEVEL_INFO},
    };
    const unsigned char *p = (const unsigned char *)line.p;
    for (size_t i = 0; i < line.n; i++) {
        if (!(word_class[p[i]] & FIRST) || (i > 0 && !(word_class[p[i - 1]] & LEFT)))
            continue;
        for (size_t k = 0; k < sizeof words / sizeof *words; k++) {
            size_t n = words[k].n, end = i + n;
            if (lower(line.p[i]) == words[k].w[0] && end <= line.n &&
                same_fold(line.p + i, words[k].w, n) &&
                (end == line.n || (word_class[p[end]] & RIGHT)))
                return words[k].l;
        }
    }
    return OSP_LINE_LEVEL_UNKNOWN;
}

static int is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* 1 when line, spaces aside, begins with '{' and ends with '}'. */
static int looks_like_json(osp_str line)
{
    size_t i = 0, j = line.n;
    while (i < j && is_space(line.p[i]))
        i++;
    while (j > i && (is_space(line.p[j - 1]) || (unsigned char)line.p[j - 1] == 0x85 ||
                     (unsigned char)line.p[j - 1] == 0xA0))
        j--;
    return j - i >= 2 && line.p[i] == '{' && line.p[j - 1] == '}';
}

/* Searches the object whose '{' r has just read, at depth, for a string member named as a
 * level field: its level word's level, found = 1. Stops at the first such member, at the
 * object's end or at the first error. */
static osp_line_level json_object(osp_json_reader *r, int depth, int *found)
{
    osp_json_token k, v;
    while (osp_json_next(r, &k) == 1 && k.type == OSP_JSON_KEY) {
        int rank = osp_level_field_rank(k.s);
        if (osp_json_next(r, &v) != 1)
            break;
        if (v.type == OSP_JSON_STRING && rank >= 0) {
            *found = 1;
            return osp_level_of_word(v.s);
        }
        if (v.type == OSP_JSON_OBJECT_BEGIN && depth + 1 < JSON_MAX_DEPTH) {
            osp_line_level l = json_object(r, depth + 1, found);
            if (*found)
                return l;
        } else if (osp_json_skip(r, &v)) {
            break;
        }
    }
    return OSP_LINE_LEVEL_UNSET;
}

static osp_line_level json_level(osp_str line)
{
    osp_buf scratch;
    osp_buf_init(&scratch, 1u << 16);
    osp_json_reader r;
    osp_json_reader_init(&r, line, &scratch);
    osp_json_token t;
    int found = 0;
    osp_line_level l = OSP_LINE_LEVEL_UNSET;
    if (osp_json_next(&r, &t) == 1 && t.type == OSP_JSON_OBJECT_BEGIN)
        l = json_object(&r, 0, &found);
    osp_buf_cleanup(&scratch);
    return l;
}

static osp_line_level logfmt_level(osp_str line)
{
    osp_logfmt d;
    osp_logfmt_init(&d, line);
    osp_str value = OSP_STR_NULL;
    int best = (int)NFIELDS;
    while (osp_logfmt_scan(&d) == OSP_LOGFMT_PAIR) {
        int rank = rank_of(d.key, 1);
        if (rank >= 0 && rank < best) {
            value = d.value;
            best = rank;
            if (best == 0)
                break;
        }
    }
    return osp_level_of_word(value);
}

osp_line_level osp_line_level_of(osp_str line)
{
    osp_line_level l = OSP_LINE_LEVEL_UNSET;
    if (looks_like_json(line))
        l = json_level(line);
    else if (line.n && memchr(line.p, '=', line.n))
        l = logfmt_level(line);
    return l != OSP_LINE_LEVEL_UNSET ? l : level_by_words(line);
}
