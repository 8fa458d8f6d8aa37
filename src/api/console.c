/* Serves the embedded web console on the API listener: its assets, index.html for every
 * other console path, gzip when the client takes it, entity tags and cache headers. */
#include "api/console.h"

#include <string.h>

#define ASSETS_PREFIX "/assets/"
#define INDEX_PATH "/index.html"
#define CACHE_ASSET "public, max-age=31536000, immutable" /* content-hashed names */
#define CACHE_PAGE "no-cache"                             /* revalidate: a new build changes it */

/* The API's top-level path segments; "/api" also covers /api/v1/... and the Jaeger API. */
static const char *const api_segments[] = {"/api",      "/loki",   "/v1",     "/metrics",
                                           "/federate", "/readyz", "/healthz"};

static const struct {
    const char *ext; /* without the dot, lowercase */
    const char *type;
} content_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"wasm", "application/wasm"},
};

const osp_console_file *osp_console_find(osp_str path)
{
    for (size_t i = 0; i < osp__console_nfiles; i++)
        if (osp_str_eqz(path, osp__console_files[i].path))
            return &osp__console_files[i];
    return NULL;
}

const char *osp_console_content_type(osp_str path)
{
    size_t dot = path.n;
    for (size_t i = path.n; i > 0 && path.p[i - 1] != '/'; i--)
        if (path.p[i - 1] == '.') {
            dot = i - 1;
            break;
        }
    if (dot == path.n)
        return "application/octet-stream";
    osp_str ext = osp_str_make(path.p + dot + 1, path.n - dot - 1);
    for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++)
        if (osp_str_ieq(ext, osp_str_c(content_types[i].ext)))
            return content_types[i].type;
    return "application/octet-stream";
}

int osp_console_is_api_path(osp_str path)
{
    for (size_t i = 0; i < sizeof api_segments / sizeof api_segments[0]; i++) {
        osp_str seg = osp_str_c(api_segments[i]);
        if (osp_str_has_prefix(path, seg) && (path.n == seg.n || path.p[seg.n] == '/'))
            return 1;
    }
    return 0;
}

/* The next comma-separated element of *list (trimmed, possibly empty); 0 at the end. */
static int next_element(osp_str *list, osp_str *out)
{
    if (!list->p || !list->n)
        return 0;
    const char *comma = memchr(list->p, ',', list->n);
    size_t n = comma ? (size_t)(comma - list->p) : list->n;
    *out = osp_str_trim_blanks(osp_str_make(list->p, n));
    *list = comma ? osp_str_make(comma + 1, list->n - n - 1) : OSP_STR_NULL;
    return 1;
}

/* A coding's q-value from its parameters (";q=0.5"): 0 when it is zero, else 1. */
static int q_nonzero(osp_str params)
{
    while (params.n) {
        const char *semi = memchr(params.p, ';', params.n);
        size_t n = semi ? (size_t)(semi - params.p) : params.n;
        osp_str p = osp_str_trim_blanks(osp_str_make(params.p, n));
        params = semi ? osp_str_make(semi + 1, params.n - n - 1) : OSP_STR_NULL;
        if (p.n < 2 || (p.p[0] != 'q' && p.p[0] != 'Q') || p.p[1] != '=')
            continue;
        osp_str v = osp_str_trim_blanks(osp_str_make(p.p + 2, p.n - 2));
        if (!v.n || v.p[0] != '0')
            return 1; /* "1", "1.0", or not a number: taken as acceptable */
        for (size_t i = 1; i < v.n; i++)
            if (v.p[i] != '.' && v.p[i] != '0')
                return 1;
        return 0;
    }
    return 1;
}

int osp_console_accepts_gzip(osp_str accept_encoding)
{
    int gzip = -1, star = -1; /* -1: not listed, else whether its q-value is non-zero */
    osp_str el;
    while (next_element(&accept_encoding, &el)) {
        const char *semi = memchr(el.p, ';', el.n);
        size_t n = semi ? (size_t)(semi - el.p) : el.n;
        osp_str coding = osp_str_trim_blanks(osp_str_make(el.p, n));
        osp_str params = semi ? osp_str_make(semi + 1, el.n - n - 1) : OSP_STR_NULL;
        if (osp_str_ieq(coding, OSP_STR_LIT("gzip")) || osp_str_ieq(coding, OSP_STR_LIT("x-gzip")))
            gzip = q_nonzero(params);
        else if (osp_str_eqz(coding, "*"))
            star = q_nonzero(params);
    }
    return gzip >= 0 ? gzip : star > 0;
}

/* Whether an If-None-Match value names etag (weak comparison, as RFC 9110 asks) or is "*". */
static int etag_matches(osp_str if_none_match, const char *etag)
{
    osp_str el;
    while (next_element(&if_none_match, &el)) {
        if (el.n >= 2 && el.p[0] == 'W' && el.p[1] == '/')
            el = osp_str_make(el.p + 2, el.n - 2);
        if (osp_str_eqz(el, "*") || osp_str_eqz(el, etag))
            return 1;
    }
    return 0;
}

/* The route's handler: GET (HEAD by net) of a console path. */
static void serve(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    (void)ctx;
    int asset = osp_str_has_prefix(req->path, OSP_STR_LIT(ASSETS_PREFIX));
    const osp_console_file *f = osp_console_find(req->path);
    if (!f && !asset)
        f = osp_console_find(OSP_STR_LIT(INDEX_PATH)); /* the application routes it */
    if (!f) {
        osp_http_response_error(res, 404, "no such path: %.*s", OSP_STR_FMT(req->path));
        return;
    }
    int gz =
        f->gz_len < f->len && osp_console_accepts_gzip(osp_http_header_get(req, "accept-encoding"));
    const char *etag = gz ? f->etag_gz : f->etag;
    osp_http_response_header(res, "cache-control",
                             asset ? OSP_STR_LIT(CACHE_ASSET) : OSP_STR_LIT(CACHE_PAGE));
    osp_http_response_header(res, "vary", OSP_STR_LIT("Accept-Encoding"));
    osp_http_response_header(res, "etag", osp_str_c(etag));
    if (etag_matches(osp_http_header_get(req, "if-none-match"), etag)) {
        res->status = 304;
        return;
    }
    osp_http_response_header(res, "x-content-type-options", OSP_STR_LIT("nosniff"));
    if (gz)
        osp_http_response_header(res, "content-encoding", OSP_STR_LIT("gzip"));
    if (osp_buf_append(&res->body, gz ? f->gz : f->data, gz ? f->gz_len : f->len)) {
        osp_http_response_error(res, 500, "out of memory");
        res->nextra = 0;
        return;
    }
    res->status = 200;
    res->content_type = osp_console_content_type(osp_str_c(f->path));
}

/* The route's fallback test: every path but the API's. */
static int console_path(osp_str path)
{
    return !osp_console_is_api_path(path);
}

osp_route osp_console_route(void)
{
    return (osp_route){.method = "GET", .path = "/*", .handler = serve, .fallback = console_path};
}
