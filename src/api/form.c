/* Shared API handler helpers (api/form.h). */
#include "api/form.h"

#include "core/err.h"

void osp_form_init(osp_form *p, const osp_http_request *req)
{
    p->req = req;
    p->form = *req;
    p->form.query = req->body;
    osp_str ct = osp_http_header_get(req, "content-type");
    p->has_form = osp_str_eqz(req->method, "POST") &&
                  osp_str_has_prefix(ct, OSP_STR_LIT("application/x-www-form-urlencoded"));
}

int osp_form_get(const osp_form *p, const char *name, osp_str *v)
{
    int rc = osp_http_query_get(p->req, name, v);
    if (rc == 0 && p->has_form)
        rc = osp_http_query_get(&p->form, name, v);
    return rc;
}

int osp_form_all(const osp_form *p, const char *name, osp_str *a, size_t max, size_t *n)
{
    const osp_http_request *srcs[2] = {p->req, p->has_form ? &p->form : NULL};
    *n = 0;
    for (size_t s = 0; s < 2 && srcs[s]; s++) {
        size_t pos = 0;
        osp_str k, v;
        int more;
        while ((more = osp_http_query_next(srcs[s], &pos, &k, &v)) == 1) {
            if (!osp_str_eqz(k, name))
                continue;
            if (*n == max)
                return OSP_ETOOBIG;
            a[(*n)++] = v;
        }
        if (more < 0)
            return more;
    }
    return 0;
}

int osp_json_put_labels(osp_buf *b, const osp_label *l, size_t n)
{
    int rc = osp_buf_putc(b, '{');
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (i)
            rc |= osp_buf_putc(b, ',');
        rc |= osp_buf_json_str(b, l[i].name.p, l[i].name.n);
        rc |= osp_buf_putc(b, ':');
        rc |= osp_buf_json_str(b, l[i].value.p, l[i].value.n);
    }
    return rc ? rc : osp_buf_putc(b, '}');
}
