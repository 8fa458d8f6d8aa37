/* Helpers that handlers use on requests and responses: headers, query parameters,
 * response headers and JSON errors. */
#include "net/http.h"

#include <stdarg.h>

#include "core/err.h"

osp_str osp_http_header_get(const osp_http_request *req, const char *name)
{
    osp_str n = osp_str_c(name);
    for (size_t i = 0; i < req->nheaders; i++)
        if (osp_str_eq(req->headers[i].name, n))
            return req->headers[i].value;
    return OSP_STR_NULL;
}

int osp_http_percent_decode(osp_arena *arena, osp_str s, int plus_is_space, osp_str *out)
{
    size_t i = 0;
    while (i < s.n && s.p[i] != '%' && !(plus_is_space && s.p[i] == '+'))
        i++;
    if (i == s.n) {
        *out = s;
        return 0;
    }
    char *d = osp_arena_alloc(arena, s.n + 1);
    if (!d)
        return OSP_ENOMEM;
    size_t k = 0;
    for (i = 0; i < s.n; i++) {
        if (plus_is_space && s.p[i] == '+') {
            d[k++] = ' ';
        } else if (s.p[i] == '%') {
            uint8_t byte;
            if (i + 2 >= s.n || osp_hex_decode(s.p + i + 1, 1, &byte))
                return OSP_EPARSE;
            d[k++] = (char)byte;
            i += 2;
        } else {
            d[k++] = s.p[i];
        }
    }
    d[k] = '\0';
    *out = osp_str_make(d, k);
    return 0;
}

int osp_http_query_next(const osp_http_request *req, size_t *pos, osp_str *name, osp_str *value)
{
    osp_str q = req->query;
    while (*pos < q.n) {
        size_t start = *pos, end = start;
        while (end < q.n && q.p[end] != '&')
            end++;
        *pos = end < q.n ? end + 1 : end;
        if (end == start)
            continue;
        size_t eq = start;
        while (eq < end && q.p[eq] != '=')
            eq++;
        osp_str raw_name = osp_str_make(q.p + start, eq - start);
        osp_str raw_value = eq < end ? osp_str_make(q.p + eq + 1, end - eq - 1) : OSP_STR_NULL;
        int rc = osp_http_percent_decode(req->arena, raw_name, 1, name);
        if (rc == 0)
            rc = osp_http_percent_decode(req->arena, raw_value, 1, value);
        return rc ? rc : 1;
    }
    return 0;
}

int osp_http_query_get(const osp_http_request *req, const char *name, osp_str *value)
{
    osp_str want = osp_str_c(name), n, v;
    size_t pos = 0;
    int rc;
    while ((rc = osp_http_query_next(req, &pos, &n, &v)) == 1) {
        if (osp_str_eq(n, want)) {
            *value = v;
            return 1;
        }
    }
    return rc;
}

void osp_http_response_header(osp_http_response *res, const char *name, osp_str value)
{
    if (res->nextra < OSP_HTTP_MAX_EXTRA_HEADERS)
        res->extra[res->nextra++] = (osp_http_header){osp_str_c(name), value};
}

void osp_http_response_error(osp_http_response *res, int status, const char *fmt, ...)
{
    osp_buf msg;
    osp_buf_init(&msg, 0);
    va_list ap;
    va_start(ap, fmt);
    int rc = osp_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    res->status = status;
    res->content_type = "application/json";
    osp_buf_reset(&res->body);
    if (rc == 0)
        rc = osp_buf_puts(&res->body, "{\"error\":");
    if (rc == 0)
        rc = osp_buf_json_str(&res->body, msg.data, msg.len);
    if (rc == 0)
        rc = osp_buf_putc(&res->body, '}');
    if (rc)
        osp_buf_reset(&res->body); /* out of memory: the status alone must do */
    if (rc == 0 && res->arena) {
        osp_str copy = osp_arena_strdup(res->arena, osp_buf_str(&msg));
        if (copy.p)
            res->grpc_message = copy;
    }
    osp_buf_cleanup(&msg);
}
