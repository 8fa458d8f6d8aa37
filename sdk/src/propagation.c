/* W3C Trace Context (traceparent, tracestate) and W3C Baggage: parsing, formatting, and
 * inject / extract through a caller's header accessors. */
#include "trace_int.h"

#include <string.h>

#include "core/mem.h"

#define BAGGAGE_MAX_MEMBERS 180

/* ---- traceparent ----------------------------------------------------------------------------- */

bool osprey_span_context_valid(const osprey_span_context *c)
{
    static const uint8_t zero[16];
    return c && memcmp(c->trace_id, zero, 16) != 0 && memcmp(c->span_id, zero, 8) != 0;
}

void osprey_traceparent_format(const osprey_span_context *c, char *out)
{
    memcpy(out, "00-", 3);
    osprey__hex(c->trace_id, 16, out + 3);
    out[35] = '-';
    osprey__hex(c->span_id, 8, out + 36);
    out[52] = '-';
    osprey__hex(&c->trace_flags, 1, out + 53);
}

static int lower_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes 2n lowercase hex digits into n bytes; false on any other character. */
static bool parse_hex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = lower_hex_digit(s[2 * i]), lo = hi < 0 ? -1 : lower_hex_digit(s[2 * i + 1]);
        if (lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

int osprey_traceparent_parse(const char *s, osprey_span_context *out)
{
    osprey_span_context c = {0};
    uint8_t version;
    *out = c;
    if (!s || strnlen(s, OSPREY_TRACEPARENT_LEN) < OSPREY_TRACEPARENT_LEN)
        return OSPREY_EINVAL;
    if (!parse_hex(s, 1, &version) || version == 0xff || s[2] != '-' || s[35] != '-' ||
        s[52] != '-')
        return OSPREY_EINVAL;
    /* Version 00 is exactly 55 characters; a later version may append "-" and more. */
    if (s[55] != '\0' && (version == 0 || s[55] != '-'))
        return OSPREY_EINVAL;
    if (!parse_hex(s + 3, 16, c.trace_id) || !parse_hex(s + 36, 8, c.span_id) ||
        !parse_hex(s + 53, 1, &c.trace_flags) || !osprey_span_context_valid(&c))
        return OSPREY_EINVAL;
    *out = c;
    return 0;
}

/* ---- tracestate ------------------------------------------------------------------------------ */

size_t osprey__tracestate_copy(char out[OSPREY_TRACESTATE_MAX + 1], const char *s)
{
    size_t n = s ? strnlen(s, OSPREY_TRACESTATE_MAX + 1) : 0;
    if (n > OSPREY_TRACESTATE_MAX) {
        /* Too long: keep the list-members that fit whole (the left-most, by W3C). */
        n = OSPREY_TRACESTATE_MAX;
        while (n && s[n] != ',')
            n--;
    }
    memcpy(out, s ? s : "", n);
    out[n] = '\0';
    return n;
}

/* ---- Baggage --------------------------------------------------------------------------------- */

typedef struct baggage_entry {
    char *name, *value; /* value decoded */
} baggage_entry;

struct osprey_baggage {
    baggage_entry *items;
    size_t n, cap;
};

osprey_baggage *osprey_baggage_create(void)
{
    return osp_calloc(1, sizeof(osprey_baggage));
}

void osprey_baggage_destroy(osprey_baggage *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        osp_free(b->items[i].name);
        osp_free(b->items[i].value);
    }
    osp_free(b->items);
    osp_free(b);
}

/* RFC 7230 tchar: the characters of a token (a baggage key). */
static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* W3C baggage-octet: printable ASCII but space, DQUOTE, comma, semicolon and backslash. */
static bool is_baggage_octet(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

static bool valid_name(const char *p, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)p[i]))
            return false;
    return true;
}

static baggage_entry *baggage_find(const osprey_baggage *b, const char *name, size_t n)
{
    for (size_t i = 0; i < b->n; i++)
        if (strncmp(b->items[i].name, name, n) == 0 && b->items[i].name[n] == '\0')
            return &b->items[i];
    return NULL;
}

/* Sets name[0..n) to value (already decoded, owned by the call: taken on success). */
static int baggage_put(osprey_baggage *b, const char *name, size_t n, char *value)
{
    baggage_entry *e = baggage_find(b, name, n);
    if (e) {
        osp_free(e->value);
        e->value = value;
        return 0;
    }
    char *copy = osp_strndup(name, n);
    e = copy ? osp_array_push((void **)&b->items, &b->n, &b->cap, sizeof *e) : NULL;
    if (!e) {
        osp_free(copy);
        return OSPREY_ENOMEM;
    }
    e->name = copy;
    e->value = value;
    return 0;
}

int osprey_baggage_set(osprey_baggage *b, const char *name, const char *value)
{
    if (!b || !name || !valid_name(name, strlen(name)))
        return OSPREY_EINVAL;
    char *v = osp_strdup(value ? value : "");
    if (!v)
        return OSPREY_ENOMEM;
    int rc = baggage_put(b, name, strlen(name), v);
    if (rc < 0)
        osp_free(v);
    return rc;
}

const char *osprey_baggage_get(const osprey_baggage *b, const char *name)
{
    const baggage_entry *e = b && name ? baggage_find(b, name, strlen(name)) : NULL;
    return e ? e->value : NULL;
}

size_t osprey_baggage_count(const osprey_baggage *b)
{
    return b ? b->n : 0;
}

void osprey_baggage_at(const osprey_baggage *b, size_t i, const char **name, const char **value)
{
    *name = b->items[i].name;
    *value = b->items[i].value;
}

static const char *skip_ows(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

static const char *trim_ows_end(const char *p, const char *end)
{
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return end;
}

static int any_hex_digit(char c)
{
    return lower_hex_digit(c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c);
}

/* A decoded copy of the value text [p, end) (percent-decoded, either hex case; a '%' not
 * followed by two hex digits is kept as is). Sets *bad when a character is not a
 * baggage-octet. */
static char *decode_value(const char *p, const char *end, bool *bad)
{
    char *out = osp_malloc((size_t)(end - p) + 1), *o = out;
    for (; out && p < end; p++) {
        if (!is_baggage_octet((unsigned char)*p))
            *bad = true;
        int hi = *p == '%' && end - p >= 3 ? any_hex_digit(p[1]) : -1;
        int lo = hi >= 0 ? any_hex_digit(p[2]) : -1;
        if (lo >= 0) {
            *o++ = (char)(hi << 4 | lo);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    if (out)
        *o = '\0';
    return out;
}

/* Adds one list-member [p, end): key OWS "=" OWS value *(OWS ";" property); properties are
 * dropped. A malformed member is skipped (0). */
static int parse_member(osprey_baggage *b, const char *p, const char *end)
{
    const char *semi = memchr(p, ';', (size_t)(end - p));
    const char *eq = memchr(p, '=', (size_t)((semi ? semi : end) - p));
    if (!eq)
        return 0;
    const char *name = skip_ows(p, eq), *name_end = trim_ows_end(name, eq);
    const char *val = skip_ows(eq + 1, semi ? semi : end);
    const char *val_end = trim_ows_end(val, semi ? semi : end);
    if (!valid_name(name, (size_t)(name_end - name)))
        return 0;
    bool bad = false;
    char *value = decode_value(val, val_end, &bad);
    if (!value)
        return OSPREY_ENOMEM;
    int rc = bad ? 0 : baggage_put(b, name, (size_t)(name_end - name), value);
    if (bad || rc < 0)
        osp_free(value);
    return rc;
}

int osprey_baggage_parse(osprey_baggage *b, const char *header)
{
    if (!b || !header)
        return 0;
    const char *p = header, *end = header + strnlen(header, OSPREY_BAGGAGE_MAX);
    for (size_t members = 0; p < end && members < BAGGAGE_MAX_MEMBERS; members++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *member_end = comma ? comma : end;
        /* A member cut by the size limit is incomplete: drop it, never keep part of one. */
        if (!comma && header[end - header] != '\0')
            break;
        int rc = parse_member(b, p, member_end);
        if (rc < 0)
            return rc;
        p = comma ? comma + 1 : end;
    }
    return 0;
}

/* The encoded length of value and, when out is not NULL, the encoding written there. */
static size_t encode_value(const char *v, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (is_baggage_octet(c) && c != '%') {
            if (out)
                out[n] = (char)c;
            n++;
            continue;
        }
        if (out) {
            out[n] = '%';
            out[n + 1] = digits[c >> 4];
            out[n + 2] = digits[c & 15];
        }
        n += 3;
    }
    return n;
}

size_t osprey_baggage_format(const osprey_baggage *b, char *out, size_t cap)
{
    size_t need = 0, written = 0; /* written: whole members that fit in out */
    for (size_t i = 0; b && i < b->n; i++) {
        size_t name_len = strlen(b->items[i].name);
        size_t member = (i ? 1 : 0) + name_len + 1 + encode_value(b->items[i].value, NULL);
        if (need == written && cap && written + member <= cap - 1) {
            char *o = out + written;
            if (i)
                *o++ = ',';
            memcpy(o, b->items[i].name, name_len);
            o[name_len] = '=';
            encode_value(b->items[i].value, o + name_len + 1);
            written += member;
        }
        need += member;
    }
    if (cap)
        out[written] = '\0';
    return need;
}

/* ---- Inject and extract ---------------------------------------------------------------------- */

void osprey_inject(const osprey_span_context *c, const osprey_baggage *b, osprey_header_set_fn set,
                   void *carrier)
{
    if (c && osprey_span_context_valid(c)) {
        char tp[OSPREY_TRACEPARENT_LEN + 1];
        osprey_traceparent_format(c, tp);
        set(carrier, "traceparent", tp);
        if (c->trace_state && *c->trace_state)
            set(carrier, "tracestate", c->trace_state);
    }
    if (osprey_baggage_count(b)) {
        char bag[OSPREY_BAGGAGE_MAX + 1];
        osprey_baggage_format(b, bag, sizeof bag);
        if (*bag)
            set(carrier, "baggage", bag);
    }
}

int osprey_extract(osprey_header_get_fn get, void *carrier, osprey_carrier_context *out)
{
    *out = (osprey_carrier_context){0};
    if (osprey_traceparent_parse(get(carrier, "traceparent"), &out->span) == 0) {
        out->span.is_remote = true;
        if (osprey__tracestate_copy(out->trace_state, get(carrier, "tracestate")))
            out->span.trace_state = out->trace_state;
    }
    const char *bag = get(carrier, "baggage");
    if (!bag)
        return 0;
    int rc = OSPREY_ENOMEM;
    if ((out->baggage = osprey_baggage_create()) != NULL)
        rc = osprey_baggage_parse(out->baggage, bag);
    if (rc < 0)
        osprey_carrier_context_cleanup(out);
    return rc;
}

void osprey_carrier_context_cleanup(osprey_carrier_context *c)
{
    osprey_baggage_destroy(c->baggage);
    *c = (osprey_carrier_context){0};
}
