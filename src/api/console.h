/* The web console (console/, a Preact application bundled by Vite): the files of its build,
 * embedded into the binary at build time by scripts/embed-console.sh, and the route that
 * serves them on the API listener. /assets/<file> (content-hashed names) is cached for good;
 * any other path that is not an API path answers index.html, so the application's deep
 * links load it too. Each file is also embedded gzip-compressed and sent so to clients that
 * accept gzip. See docs/console.md. */
#ifndef OSP_API_CONSOLE_H
#define OSP_API_CONSOLE_H

#include <stddef.h>

#include "core/str.h"
#include "net/http.h"

/* One embedded file. */
typedef struct osp_console_file {
    const char *path;          /* URL path: "/index.html", "/assets/index-1Ow6jx-q.css" */
    const unsigned char *data; /* the file as built */
    size_t len;
    const unsigned char *gz; /* the same bytes, gzip -9 -n */
    size_t gz_len;
    const char *etag;    /* strong entity tag of data, quoted: "\"<sha-256 prefix>\"" */
    const char *etag_gz; /* the gzip copy's */
} osp_console_file;

/* The table the build generates into $(BUILD)/console/files.c, sorted by path; it always
 * holds /index.html. */
extern const osp_console_file osp__console_files[];
extern const size_t osp__console_nfiles;

/* The embedded file at this URL path (exact, case-sensitive, not percent-decoded), or NULL. */
const osp_console_file *osp_console_find(osp_str path);

/* The Content-Type for a file, by the extension of its path; "application/octet-stream"
 * when the extension is unknown. Text types carry "; charset=utf-8". */
const char *osp_console_content_type(osp_str path);

/* 1 when path belongs to the server's APIs, which the console never answers: /api, /loki,
 * /v1, /metrics, /federate, /readyz and /healthz, each alone or followed by '/...'. */
int osp_console_is_api_path(osp_str path);

/* 1 when an Accept-Encoding header value accepts gzip: "gzip" (or "x-gzip"), else "*",
 * with a q-value other than 0. */
int osp_console_accepts_gzip(osp_str accept_encoding);

/* The console's route for the API listener, to put in its route table (serve --no-console
 * leaves it out): GET (and so HEAD) of every path that is not an API path and that no
 * other route matches. Other methods get 405 with Allow: GET. */
osp_route osp_console_route(void);

#endif
