/* libFuzzer target for Go's time parsing (src/query/gotime.c, osp_gotime_parse). Input: the
 * layout up to the first newline, the value after it; the input's length picks the location
 * (UTC, or one of four zones from the system's database when it has them). Checks: a refused
 * value says why, in Go's words, and leaves Go's zero time; a parsed time has its fraction,
 * offset (within 26 h) and abbreviation in range and formats with the layout. When the
 * layout pins down an instant in a way Go can read back (below), the formatted text parses
 * again to the same instant and offset. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "fuzz_check.h"
#include "query/gotime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a round-trip layout element stands for. */
enum { YEAR, MONTH, DAY, YDAY, HOUR, HOUR12, PM, MINUTE, SECOND, WDAY, ZONE, FRAC, NKINDS };

/* Elements whose text is fixed in width or bounded by letters, so that a formatted value
 * reads back field by field; the longest that matches is taken, as Go's reading does. */
static const struct {
    const char *text;
    int kind;
} tokens[] = {
    {"January", MONTH}, {"Monday", WDAY}, {"Jan", MONTH},  {"Mon", WDAY},  {"2006", YEAR},
    {"002", YDAY},      {"01", MONTH},    {"02", DAY},     {"03", HOUR12}, {"04", MINUTE},
    {"05", SECOND},     {"06", YEAR},     {"15", HOUR},    {"PM", PM},     {"-07:00:00", ZONE},
    {"-070000", ZONE},  {"-07:00", ZONE}, {"-0700", ZONE}, {"-07", ZONE},  {"Z07:00:00", ZONE},
    {"Z070000", ZONE},  {"Z07:00", ZONE}, {"Z0700", ZONE}, {"Z07", ZONE},
};

/* The length of a fraction element (.000 or .999, up to nine digits) at l[i], or 0. */
static size_t frac_len(const char *l, size_t n, size_t i)
{
    if (l[i] != '.' || i + 1 >= n || (l[i + 1] != '0' && l[i + 1] != '9'))
        return 0;
    size_t j = i + 1;
    while (j < n && l[j] == l[i + 1])
        j++;
    return j - i - 1 <= 9 && (j == n || l[j] < '0' || l[j] > '9') ? j - i : 0;
}

/* Whether l is made only of those elements, each field once, with separators " :/T-" (no
 * '.' or ',', which Go would take as a fraction after the seconds), and names a whole
 * instant: year, month and day or day of the year, the hour (03 only with PM), minutes and
 * seconds. *digits: the fraction's digits (0 without one). */
static int round_trip_layout(const char *l, size_t n, int *digits)
{
    int seen[NKINDS] = {0};
    *digits = 0;
    for (size_t i = 0; i < n;) {
        size_t len = frac_len(l, n, i), k = 0;
        int kind = FRAC;
        if (len)
            *digits = (int)len - 1;
        else {
            while (k < sizeof tokens / sizeof tokens[0] &&
                   strncmp(l + i, tokens[k].text, strlen(tokens[k].text)) != 0)
                k++;
            if (k == sizeof tokens / sizeof tokens[0]) {
                if (!strchr(" :/T-", l[i]))
                    return 0;
                i++;
                continue;
            }
            len = strlen(tokens[k].text), kind = tokens[k].kind;
        }
        if (seen[kind]++)
            return 0;
        i += len;
    }
    return seen[YEAR] && ((seen[MONTH] && seen[DAY]) || seen[YDAY]) && seen[MINUTE] &&
           seen[SECOND] && (seen[HOUR] ? !seen[HOUR12] && !seen[PM] : seen[HOUR12] && seen[PM]);
}

static void check_round_trip(osp_str layout, const osp_gotime *t, const osp_tzone *loc)
{
    int digits;
    char *l = strndup(layout.p, layout.n);
    int whole = l && strlen(l) == layout.n && round_trip_layout(l, layout.n, &digits);
    free(l);
    if (!whole || t->off <= -86400 || t->off >= 86400)
        return;
    osp_buf b;
    osp_buf_init(&b, 0);
    CHECK(osp_gotime_format(&b, layout, t) == 0);
    osp_gotime back;
    CHECK(osp_gotime_parse(layout, osp_buf_str(&b), loc, &back, NULL, 0) == 0);
    int32_t nsec = t->nsec;
    for (int k = digits; k < 9; k++)
        nsec /= 10;
    for (int k = digits; k < 9; k++)
        nsec *= 10;
    CHECK(back.sec == t->sec && back.nsec == nsec && back.off == t->off);
    osp_buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *zones[] = {"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
                                  "Australia/Lord_Howe"};
    const osp_tzone *loc = osp_tzone_find(osp_str_c(zones[size % 5]));
    const char *in = (const char *)data, *nl = memchr(in, '\n', size);
    osp_str layout = osp_str_make(in, nl ? (size_t)(nl - in) : size);
    osp_str value = nl ? osp_str_make(nl + 1, size - layout.n - 1) : OSP_STR_LIT("");
    osp_gotime t;
    char err[512] = "";
    if (osp_gotime_parse(layout, value, loc, &t, err, sizeof err) != 0) {
        CHECK(strncmp(err, "parsing time \"", 14) == 0);
        CHECK(t.sec == OSP_GOTIME_ZERO_SEC && t.nsec == 0 && t.off == 0);
        return 0;
    }
    CHECK(t.nsec >= 0 && t.nsec < 1000000000);
    CHECK(t.off > -26 * 3600 && t.off < 26 * 3600);
    CHECK(memchr(t.zone, '\0', sizeof t.zone) != NULL);
    osp_buf b;
    osp_buf_init(&b, 0);
    CHECK(osp_gotime_format(&b, layout, &t) == 0);
    osp_buf_cleanup(&b);
    check_round_trip(layout, &t, loc);
    return 0;
}
