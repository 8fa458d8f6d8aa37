/* HTTP/1.1 request parsing (RFC 9112) as a state machine over caller-held bytes. */
#include "net/http1.h"

#include <assert.h>
#include <string.h>

#include "core/err.h"

enum {
    S_HEAD,          /* scanning for the end of the head */
    S_BODY_LEN,      /* Content-Length body */
    S_CHUNK_SIZE,    /* hex digits of a chunk size */
    S_CHUNK_EXT,     /* chunk extensions up to the line end */
    S_CHUNK_SIZE_LF, /* LF after the chunk-size line's CR */
    S_CHUNK_DATA,    /* chunk payload */
    S_CHUNK_DATA_CR, /* CRLF after the payload */
    S_CHUNK_DATA_LF,
    S_TRAILER_START,  /* start of a trailer line, or the final blank line */
    S_TRAILER_LINE,   /* inside a trailer field line */
    S_TRAILER_LF,     /* LF after a trailer line's CR */
    S_TRAILER_END_LF, /* LF of the final blank line */
    S_DONE,           /* message complete, DONE not yet reported */
    S_ERROR,
};

void osp_http1_init(osp_http1_parser *p, size_t max_head, uint64_t max_body)
{
    memset(p, 0, sizeof *p);
    p->max_head = max_head;
    p->max_body = max_body;
    p->state = S_HEAD;
}

static int fail(osp_http1_parser *p, int status, int rc)
{
    p->state = S_ERROR;
    p->status = status;
    return rc;
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && memchr(extra, c, sizeof extra - 1));
}

/* Control characters other than HTAB may not appear in field values or extensions. */
static int is_bad_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

unsigned osp_http1_list_flags(osp_str v, const char *const *names, size_t nnames)
{
    unsigned flags = 0;
    while (v.n) {
        const char *comma = memchr(v.p, ',', v.n);
        size_t n = comma ? (size_t)(comma - v.p) : v.n;
        osp_str tok = osp_str_trim_blanks(osp_str_make(v.p, n));
        for (size_t i = 0; i < nnames; i++)
            if (osp_str_ieq(tok, osp_str_c(names[i])))
                flags |= 1u << i;
        v.p += comma ? n + 1 : n;
        v.n -= comma ? n + 1 : n;
    }
    return flags;
}

/* Splits the request target into path and query. */
static int parse_target(osp_http1_head *h, osp_str t)
{
    if (t.n == 1 && t.p[0] == '*') {
        h->path = t;
        h->query = OSP_STR_NULL;
        return 0;
    }
    if (t.p[0] != '/') {
        /* absolute-form: scheme "://" authority [path] */
        osp_str rest = OSP_STR_NULL;
        if (t.n > 7 && osp_str_ieq(osp_str_make(t.p, 7), OSP_STR_LIT("http://")))
            rest = osp_str_make(t.p + 7, t.n - 7);
        else if (t.n > 8 && osp_str_ieq(osp_str_make(t.p, 8), OSP_STR_LIT("https://")))
            rest = osp_str_make(t.p + 8, t.n - 8);
        else
            return OSP_EPARSE;
        size_t i = 0;
        while (i < rest.n && rest.p[i] != '/' && rest.p[i] != '?')
            i++;
        if (i == 0)
            return OSP_EPARSE;
        t = osp_str_make(rest.p + i, rest.n - i);
        if (t.n == 0 || t.p[0] == '?') {
            h->path = OSP_STR_LIT("/");
            h->query = t.n ? osp_str_make(t.p + 1, t.n - 1) : OSP_STR_NULL;
            return 0;
        }
    }
    const char *q = memchr(t.p, '?', t.n);
    if (q) {
        h->path = osp_str_make(t.p, (size_t)(q - t.p));
        h->query = osp_str_make(q + 1, t.n - h->path.n - 1);
    } else {
        h->path = t;
        h->query = OSP_STR_NULL;
    }
    return 0;
}

static int parse_request_line(osp_http1_parser *p, char *line, size_t n)
{
    osp_http1_head *h = &p->head;
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i == n || line[i] != ' ')
        return fail(p, 400, OSP_EPARSE);
    h->method = osp_str_make(line, i);
    size_t t0 = ++i;
    while (i < n && (unsigned char)line[i] > ' ' && line[i] != 0x7f)
        i++;
    if (i == t0 || i == n || line[i] != ' ')
        return fail(p, 400, OSP_EPARSE);
    if (parse_target(h, osp_str_make(line + t0, i - t0)))
        return fail(p, 400, OSP_EPARSE);
    osp_str v = osp_str_make(line + i + 1, n - i - 1);
    if (osp_str_eq(v, OSP_STR_LIT("HTTP/1.1")))
        h->minor = 1;
    else if (osp_str_eq(v, OSP_STR_LIT("HTTP/1.0")))
        h->minor = 0;
    else if (v.n == 8 && !memcmp(v.p, "HTTP/", 5) && v.p[5] >= '0' && v.p[5] <= '9' &&
             v.p[6] == '.' && v.p[7] >= '0' && v.p[7] <= '9')
        return fail(p, 505, OSP_EPARSE);
    else
        return fail(p, 400, OSP_EPARSE);
    return 0;
}

static int parse_field_line(osp_http1_parser *p, char *line, size_t n)
{
    osp_http1_head *h = &p->head;
    if (line[0] == ' ' || line[0] == '\t') /* obsolete line folding */
        return fail(p, 400, OSP_EPARSE);
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)line[i])) {
        if (line[i] >= 'A' && line[i] <= 'Z')
            line[i] += 'a' - 'A';
        i++;
    }
    if (i == 0 || i == n || line[i] != ':')
        return fail(p, 400, OSP_EPARSE);
    for (size_t j = i + 1; j < n; j++)
        if (is_bad_ctl((unsigned char)line[j]))
            return fail(p, 400, OSP_EPARSE);
    if (h->nheaders == OSP_HTTP1_MAX_HEADERS)
        return fail(p, 431, OSP_ETOOBIG);
    h->headers[h->nheaders].name = osp_str_make(line, i);
    h->headers[h->nheaders].value = osp_str_trim_blanks(osp_str_make(line + i + 1, n - i - 1));
    h->nheaders++;
    return 0;
}

/* Decimal Content-Length; values past UINT64_MAX saturate (they are too large anyway). */
static int parse_length(osp_str v, uint64_t *out)
{
    uint64_t n = 0;
    if (v.n == 0)
        return OSP_EPARSE;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return OSP_EPARSE;
        unsigned d = (unsigned)(v.p[i] - '0');
        n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
    }
    *out = n;
    return 0;
}

/* Derives framing and connection semantics from the parsed fields. */
static int interpret_fields(osp_http1_parser *p)
{
    static const char *const conn_tokens[] = {"close", "keep-alive"};
    osp_http1_head *h = &p->head;
    int have_length = 0, nte = 0, nhost = 0;
    unsigned conn = 0;
    h->chunked = 0;
    h->content_length = 0;
    h->expect_continue = 0;
    for (size_t i = 0; i < h->nheaders; i++) {
        osp_str name = h->headers[i].name, v = h->headers[i].value;
        if (osp_str_eqz(name, "content-length")) {
            uint64_t n;
            if (parse_length(v, &n) || (have_length && n != h->content_length))
                return fail(p, 400, OSP_EPARSE);
            h->content_length = n;
            have_length = 1;
        } else if (osp_str_eqz(name, "transfer-encoding")) {
            if (nte++ || !osp_str_ieq(v, OSP_STR_LIT("chunked")))
                return fail(p, 501, OSP_EPARSE);
            h->chunked = 1;
        } else if (osp_str_eqz(name, "connection")) {
            conn |= osp_http1_list_flags(v, conn_tokens, 2);
        } else if (osp_str_eqz(name, "expect") && h->minor == 1) {
            if (!osp_str_ieq(v, OSP_STR_LIT("100-continue")))
                return fail(p, 417, OSP_EPARSE);
            h->expect_continue = 1;
        } else if (osp_str_eqz(name, "host")) {
            nhost++;
        }
    }
    if ((h->chunked && have_length) || (h->chunked && h->minor == 0))
        return fail(p, 400, OSP_EPARSE);
    if (h->minor == 1 && nhost != 1)
        return fail(p, 400, OSP_EPARSE);
    h->keep_alive = !(conn & 1) && (h->minor == 1 || (conn & 2));
    return 0;
}

/* Parses the complete head data[0..n), n including the blank line. */
static int parse_head(osp_http1_parser *p, char *data, size_t n)
{
    p->head.nheaders = 0;
    p->head.len = n;
    size_t pos = 0;
    for (int first = 1;; first = 0) {
        char *nl = memchr(data + pos, '\n', n - pos);
        size_t end = (size_t)(nl - data);
        size_t ln = end - pos;
        if (ln && data[end - 1] == '\r')
            ln--;
        if (ln == 0)
            break;
        int rc =
            first ? parse_request_line(p, data + pos, ln) : parse_field_line(p, data + pos, ln);
        if (rc)
            return rc;
        pos = end + 1;
    }
    return interpret_fields(p);
}

static int next_state_after_head(osp_http1_parser *p)
{
    if (p->head.chunked)
        return S_CHUNK_SIZE;
    p->remaining = p->head.content_length;
    return p->remaining ? S_BODY_LEN : S_DONE;
}

static int head_state(osp_http1_parser *p, char *data, size_t len, enum osp_http1_event *ev,
                      size_t *used)
{
    size_t skip = 0;
    if (p->scan == 0) {
        /* Empty lines before the request line are ignored (RFC 9112 section 2.2). */
        while (skip < len) {
            if (data[skip] == '\n')
                skip++;
            else if (data[skip] == '\r' && skip + 1 < len && data[skip + 1] == '\n')
                skip += 2;
            else
                break;
        }
        data += skip;
        len -= skip;
        *used = skip;
        if (len == 1 && data[0] == '\r')
            return 0; /* maybe the CR of another empty line */
    }
    /* Fail fast on bytes that cannot start a request (a TLS handshake, binary junk): the
     * method is a token followed by a space; checking its first bytes is enough. */
    if (p->line_start == 0)
        for (size_t i = 0; i < len && i < 32 && data[i] != ' '; i++)
            if (!is_tchar((unsigned char)data[i]))
                return fail(p, 400, OSP_EPARSE);
    size_t limit = len < p->max_head ? len : p->max_head;
    while (p->scan < limit) {
        char *nl = memchr(data + p->scan, '\n', limit - p->scan);
        if (!nl) {
            p->scan = limit;
            break;
        }
        size_t idx = (size_t)(nl - data);
        size_t ln = idx - p->line_start;
        if (ln && data[idx - 1] == '\r')
            ln--;
        p->scan = idx + 1;
        if (ln == 0 && p->line_start > 0) {
            int rc = parse_head(p, data, idx + 1);
            if (rc)
                return rc;
            *ev = OSP_HTTP1_HEAD;
            *used += idx + 1;
            p->scan = p->line_start = 0;
            p->body_seen = 0;
            p->trailer_len = 0;
            p->line_len = 0;
            p->state = next_state_after_head(p);
            return 0;
        }
        assert(ln > 0); /* empty lines before the request line were skipped */
        p->line_start = idx + 1;
    }
    if (len >= p->max_head)
        return fail(p, 431, OSP_ETOOBIG);
    return 0;
}

/* Runs the chunked-body machine over data; stops at a body piece or the message end. */
static int chunked_state(osp_http1_parser *p, char *data, size_t len, enum osp_http1_event *ev,
                         size_t *used, osp_str *body)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)data[i];
        switch (p->state) {
        case S_CHUNK_SIZE: {
            int d = hex_val(c);
            if (d >= 0) {
                if (p->remaining > (UINT64_MAX >> 4))
                    return fail(p, 400, OSP_EPARSE);
                p->remaining = (p->remaining << 4) | (unsigned)d;
                if (++p->line_len > OSP_HTTP1_MAX_LINE) /* endless leading zeros */
                    return fail(p, 400, OSP_EPARSE);
            } else if (p->line_len == 0) {
                return fail(p, 400, OSP_EPARSE);
            } else if (c == ';' || c == ' ' || c == '\t') {
                p->state = S_CHUNK_EXT;
            } else if (c == '\r') {
                p->state = S_CHUNK_SIZE_LF;
            } else if (c == '\n') {
                p->state = S_CHUNK_SIZE_LF;
                continue; /* handled as the LF of CRLF */
            } else {
                return fail(p, 400, OSP_EPARSE);
            }
            i++;
            break;
        }
        case S_CHUNK_EXT:
            if (c == '\r' || c == '\n') {
                p->state = S_CHUNK_SIZE_LF;
                if (c == '\n')
                    continue;
            } else if (is_bad_ctl(c) || ++p->line_len > OSP_HTTP1_MAX_LINE) {
                return fail(p, 400, OSP_EPARSE);
            }
            i++;
            break;
        case S_CHUNK_SIZE_LF:
            if (c != '\n')
                return fail(p, 400, OSP_EPARSE);
            i++;
            p->line_len = 0;
            if (p->remaining == 0) {
                p->state = S_TRAILER_START;
            } else if (p->remaining > p->max_body - p->body_seen) {
                return fail(p, 413, OSP_ETOOBIG);
            } else {
                p->state = S_CHUNK_DATA;
            }
            break;
        case S_CHUNK_DATA: {
            size_t n = len - i;
            if (n > p->remaining)
                n = (size_t)p->remaining;
            *body = osp_str_make(data + i, n);
            p->remaining -= n;
            p->body_seen += n;
            if (p->remaining == 0)
                p->state = S_CHUNK_DATA_CR;
            *ev = OSP_HTTP1_BODY;
            *used = i + n;
            return 0;
        }
        case S_CHUNK_DATA_CR:
            if (c == '\n') {
                p->state = S_CHUNK_DATA_LF;
                continue;
            }
            if (c != '\r')
                return fail(p, 400, OSP_EPARSE);
            p->state = S_CHUNK_DATA_LF;
            i++;
            break;
        case S_CHUNK_DATA_LF:
            if (c != '\n')
                return fail(p, 400, OSP_EPARSE);
            p->state = S_CHUNK_SIZE;
            i++;
            break;
        case S_TRAILER_START:
            if (c == '\r' || c == '\n') {
                p->state = S_TRAILER_END_LF;
                if (c == '\n')
                    continue;
                i++;
                break;
            }
            if (!is_tchar(c)) /* also rejects obsolete line folding */
                return fail(p, 400, OSP_EPARSE);
            p->state = S_TRAILER_LINE;
            p->line_len = 0;
            continue;
        case S_TRAILER_LINE:
            if (c == '\r' || c == '\n') {
                if (p->line_len == 0) /* no ':' in the field line */
                    return fail(p, 400, OSP_EPARSE);
                p->state = S_TRAILER_LF;
                if (c == '\n')
                    continue;
            } else if (is_bad_ctl(c)) {
                return fail(p, 400, OSP_EPARSE);
            } else if (c == ':') {
                p->line_len = 1;
            }
            if (++p->trailer_len > p->max_head)
                return fail(p, 431, OSP_ETOOBIG);
            i++;
            break;
        case S_TRAILER_LF:
            if (c != '\n')
                return fail(p, 400, OSP_EPARSE);
            p->state = S_TRAILER_START;
            i++;
            break;
        case S_TRAILER_END_LF:
            if (c != '\n')
                return fail(p, 400, OSP_EPARSE);
            p->state = S_HEAD;
            *ev = OSP_HTTP1_DONE;
            *used = i + 1;
            return 0;
        default:
            return fail(p, 400, OSP_EPARSE);
        }
    }
    *used = len;
    return 0;
}

int osp_http1_parse(osp_http1_parser *p, char *data, size_t len, enum osp_http1_event *ev,
                    size_t *used, osp_str *body)
{
    *ev = OSP_HTTP1_NEED_MORE;
    *used = 0;
    *body = OSP_STR_NULL;
    switch (p->state) {
    case S_ERROR:
        return OSP_EPARSE;
    case S_HEAD:
        return head_state(p, data, len, ev, used);
    case S_DONE:
        p->state = S_HEAD;
        *ev = OSP_HTTP1_DONE;
        return 0;
    case S_BODY_LEN: {
        size_t n = len < p->remaining ? len : (size_t)p->remaining;
        if (n == 0)
            return 0;
        p->remaining -= n;
        p->body_seen += n;
        if (p->remaining == 0)
            p->state = S_DONE;
        *body = osp_str_make(data, n);
        *used = n;
        *ev = OSP_HTTP1_BODY;
        return 0;
    }
    default:
        return chunked_state(p, data, len, ev, used, body);
    }
}

int osp_http1_busy(const osp_http1_parser *p)
{
    return p->state != S_HEAD || p->scan > 0;
}

int osp_http1_body_left(const osp_http1_parser *p, uint64_t *left)
{
    if (p->state != S_BODY_LEN)
        return 0;
    *left = p->remaining;
    return 1;
}

static const struct {
    int status;
    const char *text;
} reasons[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Content"},
    {426, "Upgrade Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

const char *osp_http1_reason(int status)
{
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].status == status)
            return reasons[i].text;
    return "Unknown";
}

int osp_http1_body_allowed(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

int osp_http1_write_head(osp_buf *out, const osp_http_response *res, size_t content_length,
                         int keep_alive, int minor)
{
    int rc = osp_buf_printf(out, "HTTP/1.1 %d %s\r\n", res->status, osp_http1_reason(res->status));
    if (rc == 0 && res->content_type)
        rc = osp_buf_printf(out, "Content-Type: %s\r\n", res->content_type);
    if (rc == 0 && osp_http1_body_allowed(res->status))
        rc = osp_buf_printf(out, "Content-Length: %zu\r\n", content_length);
    if (rc == 0 && !keep_alive)
        rc = osp_buf_puts(out, "Connection: close\r\n");
    else if (rc == 0 && minor == 0)
        rc = osp_buf_puts(out, "Connection: keep-alive\r\n");
    for (size_t i = 0; i < res->nextra && i < OSP_HTTP_MAX_EXTRA_HEADERS && rc == 0; i++) {
        rc = osp_buf_append_str(out, res->extra[i].name);
        if (rc == 0)
            rc = osp_buf_append(out, ": ", 2);
        if (rc == 0)
            rc = osp_buf_append_str(out, res->extra[i].value);
        if (rc == 0)
            rc = osp_buf_append(out, "\r\n", 2);
    }
    if (rc == 0)
        rc = osp_buf_append(out, "\r\n", 2);
    return rc;
}
