/* Loki's endpoints for exploring logs (api/logs_int.h): index statistics and volume
 * (query/logvolume.h) and detected labels and fields (query/logdetect.h). Parameters and
 * errors as in logs.c. */
#include <inttypes.h>
#include <string.h>

#include "api/logs_int.h"
#include "api/prom.h"
#include "core/err.h"
#include "query/logdetect.h"
#include "query/logvolume.h"

#define NS UINT64_C(1000000000)
#define ERRLEN 512

/* ---- index statistics and volume ---- */

/* Splits a comma-separated list of names (spaces around them dropped, empty ones too). */
static int split_names(osp_arena *arena, osp_str list, osp_str **names, size_t *n)
{
    size_t cap = 1;
    for (size_t i = 0; i < list.n; i++)
        cap += list.p[i] == ',';
    *names = osp_arena_alloc(arena, cap * sizeof **names);
    *n = 0;
    if (!*names)
        return OSP_ENOMEM;
    for (size_t i = 0, start = 0; i <= list.n; i++) {
        if (i < list.n && list.p[i] != ',')
            continue;
        osp_str name = osp_str_trim_blanks(osp_str_make(list.p + start, i - start));
        if (name.n)
            (*names)[(*n)++] = name;
        start = i + 1;
    }
    return 0;
}

/* The stream selector ("query", required), range, limit, targetLabels and aggregateBy of
 * the index endpoints. 0 with *vq, or -1 when answered. */
static int volume_params(const osp_http_request *req, osp_http_response *res, const osp_form *p,
                         osp_log_volume_query *vq)
{
    osp_label_matcher *m = NULL;
    osp_str targets = {0}, by = {0}, *names;
    size_t nm = 0, nnames;
    memset(vq, 0, sizeof *vq);
    if (osp__logs_range_and_selector(p, req, res, &vq->start_ns, &vq->end_ns, &m, &nm) ||
        osp__logs_count_param(p, res, "limit", OSP_LOG_VOLUME_DEFAULT_LIMIT, &vq->limit))
        return -1;
    if (nm == 0) {
        osp__logs_fail(res, 400, "query parameter is missing: a stream selector is required");
        return -1;
    }
    if (osp_form_get(p, "targetLabels", &targets) < 0 || osp_form_get(p, "aggregateBy", &by) < 0) {
        osp__logs_fail(res, 400,
                       "invalid parameter targetLabels or aggregateBy: bad percent-encoding");
        return -1;
    }
    if (by.n && !osp_str_eqz(by, "series") && !(vq->by_labels = osp_str_eqz(by, "labels"))) {
        osp__logs_fail(res, 400, "invalid aggregateBy \"%.*s\": expected series or labels",
                       (int)(by.n > 32 ? 32 : by.n), by.p);
        return -1;
    }
    if (split_names(req->arena, targets, &names, &nnames)) {
        osp__logs_fail_rc(res, OSP_ENOMEM, NULL);
        return -1;
    }
    vq->m = m;
    vq->n = nm;
    vq->targets = names;
    vq->ntargets = nnames;
    return 0;
}

/* Step of an index range: the "step" parameter, else query_range's default. 0, or -1
 * when answered. */
static int volume_step(const osp_form *p, osp_http_response *res, uint64_t start, uint64_t end,
                       uint64_t *step)
{
    int given = osp__logs_ns_param(p, res, "step", osp__logs_parse_duration, step);
    if (given < 0)
        return -1;
    if (!given)
        *step = (end - start) / 250 / NS * NS > NS ? (end - start) / 250 / NS * NS : NS;
    if (*step && (end - start) / *step <= 11000)
        return 0;
    osp__logs_fail(
        res, 400,
        *step ? "exceeded maximum resolution of 11,000 points per timeseries. Try increasing "
                "the value of the step parameter"
              : "zero or negative query resolution step widths are not accepted. Try a "
                "positive integer");
    return -1;
}

/* Reads an index endpoint's parameters (with range, its step: the point at t then holds
 * the records in (t - step, t], for t = start, start + step, ... up to end) and computes
 * its volume. 0 with *v, the query's first step start in *first and its last point (or
 * end) in *last, or -1 when answered. */
static int index_volume(osp_logs_api *api, const osp_http_request *req, osp_http_response *res,
                        int range, osp_log_volume_query *vq, osp_log_volume *v, uint64_t *first,
                        uint64_t *last)
{
    osp_logql_source src = osp__logs_source(api);
    osp_form p;
    uint64_t step;
    osp_form_init(&p, req);
    if (volume_params(req, res, &p, vq) ||
        (range && volume_step(&p, res, vq->start_ns, vq->end_ns, &step)))
        return -1;
    *first = vq->start_ns;
    *last = vq->end_ns;
    if (range) {
        *last = vq->start_ns + (vq->end_ns - vq->start_ns) / step * step;
        *first = vq->start_ns + 1 > step ? vq->start_ns + 1 - step : 0;
        vq->start_ns = *first;
        vq->end_ns = *last + 1;
        vq->step_ns = step;
    }
    int rc = osp_log_volume_compute(&src, vq, req->arena, v);
    if (rc == OSP_ETOOBIG)
        osp__logs_fail(res, 422, "too many series × steps: narrow the selector or raise the step");
    else if (rc)
        osp__logs_fail_rc(res, rc, NULL);
    return rc ? -1 : 0;
}

/* GET|POST /loki/api/v1/index/stats?query=&start=&end=: the streams, chunks (a stream's
 * rows in one block), entries and bytes of lines the selector covers. */
void osp__logs_index_stats(osp_logs_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_log_volume_query vq;
    osp_log_volume v;
    uint64_t first, last;
    if (index_volume(api, req, res, 0, &vq, &v, &first, &last))
        return;
    osp_buf_reset(&res->body);
    osp__logs_finish(res, osp_buf_printf(&res->body,
                                         "{\"streams\":%" PRIu64 ",\"chunks\":%" PRIu64
                                         ",\"entries\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
                                         v.streams, v.chunks, v.entries, v.bytes));
}

/* Answers v's series as a vector at last (no step) or a matrix (sample k at the end of
 * step k, steps without records left out). */
static void answer_volume(const osp_http_request *req, osp_http_response *res,
                          const osp_log_volume *v, uint64_t first_ns, uint64_t step_ns,
                          uint64_t last_ns)
{
    osp_series *series = osp_arena_calloc(req->arena, v->nseries + 1, sizeof *series);
    int rc = series ? 0 : OSP_ENOMEM;
    for (size_t i = 0; rc == 0 && i < v->nseries; i++) {
        const osp_log_volume_series *vs = &v->series[i];
        size_t n = step_ns ? v->nsteps : 1, k = 0;
        osp_sample *s = osp_arena_alloc(req->arena, (n + 1) * sizeof *s);
        if (!s) {
            rc = OSP_ENOMEM;
            break;
        }
        for (size_t j = 0; j < n; j++) {
            uint64_t t = step_ns ? first_ns + (j + 1) * step_ns - 1 : last_ns;
            if (!step_ns || vs->step_bytes[j])
                s[k++] = (osp_sample){(int64_t)(t / 1000000),
                                      (double)(step_ns ? vs->step_bytes[j] : vs->bytes)};
        }
        series[i] =
            (osp_series){.labels = vs->labels, .nlabels = vs->nlabels, .samples = s, .nsamples = k};
    }
    osp_promql_result pr = {.type = step_ns ? OSP_PROMQL_T_MATRIX : OSP_PROMQL_T_VECTOR,
                            .t_ms = (int64_t)(last_ns / 1000000),
                            .series = series,
                            .nseries = v->nseries};
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    rc = rc ? rc
            : osp_buf_puts(b, "{\"status\":\"success\",\"data\":") || osp_prom_put_result(b, &pr) ||
                  osp_buf_putc(b, '}');
    osp__logs_finish(res, rc);
}

/* GET|POST /loki/api/v1/index/volume?query=&start=&end=&limit=&targetLabels=&aggregateBy=:
 * the bytes of lines per series of the target labels, largest first, as a vector. */
void osp__logs_index_volume(osp_logs_api *api, const osp_http_request *req, osp_http_response *res)
{
    osp_log_volume_query vq;
    osp_log_volume v;
    uint64_t first, last;
    if (index_volume(api, req, res, 0, &vq, &v, &first, &last) == 0)
        answer_volume(req, res, &v, first, 0, last);
}

/* GET|POST /loki/api/v1/index/volume_range?...&step=: the same per step, as a matrix. */
void osp__logs_index_volume_range(osp_logs_api *api, const osp_http_request *req,
                                  osp_http_response *res)
{
    osp_log_volume_query vq;
    osp_log_volume v;
    uint64_t first, last;
    if (index_volume(api, req, res, 1, &vq, &v, &first, &last) == 0)
        answer_volume(req, res, &v, first, vq.step_ns, last);
}

/* ---- detected labels and fields ---- */

/* GET|POST /loki/api/v1/detected_labels?query=&start=&end=&since=: the stream labels worth
 * filtering by, with their number of distinct values; {} when there are none. */
void osp__logs_detected_labels(osp_logs_api *api, const osp_http_request *req,
                               osp_http_response *res)
{
    osp_form p;
    uint64_t start, end;
    osp_label_matcher *m = NULL;
    size_t nm = 0, n;
    osp_detected_label *l;
    osp_logql_source src = osp__logs_source(api);
    osp_form_init(&p, req);
    if (osp__logs_range_and_selector(&p, req, res, &start, &end, &m, &nm))
        return;
    int rc = osp_log_detect_labels(&src, m, nm, start, end, req->arena, &l, &n);
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    rc = rc ? rc : osp_buf_puts(b, n ? "{\"detectedLabels\":[" : "{");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = (i ? osp_buf_putc(b, ',') : 0) || osp_buf_puts(b, "{\"label\":") ||
             osp_buf_json_str(b, l[i].label.p, l[i].label.n) ||
             osp_buf_printf(b, ",\"cardinality\":%" PRIu64 "}", l[i].cardinality);
    osp__logs_finish(res, rc ? rc : osp_buf_puts(b, n ? "]}" : "}"));
}

/* Reads the parameters of the detected-field endpoints into q: query (a log query, checked
 * by osp_log_detect_fields), start, end, since, line_limit, limit (the older field_limit
 * when limit is absent), step (checked, unused). 0, or -1 when answered. */
static int detect_params(osp_logs_api *api, const osp_http_request *req, osp_http_response *res,
                         osp_log_detect_query *q)
{
    osp_form p;
    osp_logql_expr *e;
    uint64_t step;
    memset(q, 0, sizeof *q);
    osp_form_init(&p, req);
    if (osp__logs_query_param(&p, res, req->arena, &e) ||
        osp__logs_range_params(&p, res, &q->start_ns, &q->end_ns) ||
        osp__logs_ns_param(&p, res, "step", osp__logs_parse_duration, &step) < 0)
        return -1;
    osp_str limit;
    const char *fields = osp_form_get(&p, "limit", &limit) > 0 && limit.n ? "limit" : "field_limit";
    if (osp__logs_count_param(&p, res, "line_limit", OSP_DETECT_DEFAULT_LINES, &q->line_limit) ||
        osp__logs_count_param(&p, res, fields, OSP_DETECT_DEFAULT_LIMIT, &q->limit))
        return -1;
    q->e = e;
    q->deadline_ms = osp__logs_deadline(api);
    return 0;
}

/* Runs q; answers errors. 0 with the fields, or -1 when answered. */
static int detect_fields(osp_logs_api *api, const osp_http_request *req, osp_http_response *res,
                         const osp_log_detect_query *q, osp_detected_field **f, size_t *n)
{
    osp_logql_source src = osp__logs_source(api);
    char err[ERRLEN] = "";
    int rc = osp_log_detect_fields(&src, q, req->arena, f, n, err, sizeof err);
    if (rc)
        osp__logs_fail_rc(res, rc, err);
    return rc ? -1 : 0;
}

/* GET|POST /loki/api/v1/detected_fields?query=&start=&end=&since=&line_limit=&limit=: the
 * fields of the newest lines, {"fields":[{"label","type","cardinality","parsers",
 * "jsonPath" (when JSON parsing found it)}],"limit":N}; {} when there are none. */
void osp__logs_detected_fields(osp_logs_api *api, const osp_http_request *req,
                               osp_http_response *res)
{
    osp_log_detect_query q;
    osp_detected_field *f;
    size_t n;
    if (detect_params(api, req, res, &q) || detect_fields(api, req, res, &q, &f, &n))
        return;
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    int rc = osp_buf_puts(b, n ? "{\"fields\":[" : "{");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = (i ? osp_buf_putc(b, ',') : 0) || osp_buf_puts(b, "{\"label\":") ||
             osp_buf_json_str(b, f[i].label.p, f[i].label.n) ||
             osp_buf_printf(b, ",\"type\":\"%s\",\"cardinality\":%" PRIu64 ",\"parsers\":",
                            osp_field_type_name(f[i].type), f[i].cardinality) ||
             osp_buf_puts(b, !f[i].parsers                      ? "null"
                             : f[i].parsers == OSP_FIELD_JSON   ? "[\"json\"]"
                             : f[i].parsers == OSP_FIELD_LOGFMT ? "[\"logfmt\"]"
                                                                : "[\"json\",\"logfmt\"]");
        for (size_t k = 0; rc == 0 && k < f[i].njson_path; k++)
            rc = osp_buf_puts(b, k ? "," : ",\"jsonPath\":[") ||
                 osp_buf_json_str(b, f[i].json_path[k].p, f[i].json_path[k].n);
        rc = rc ? rc : osp_buf_puts(b, f[i].njson_path ? "]}" : "}");
    }
    if (rc == 0 && n)
        rc = osp_buf_printf(b, "],\"limit\":%zu}", q.limit);
    osp__logs_finish(res, rc ? rc : n ? 0 : osp_buf_putc(b, '}'));
}

/* GET|POST /loki/api/v1/detected_field/{name}/values?query=&...: the distinct values of one
 * field, newest first, {"limit":N,"values":[...]}; {} when there are none. */
void osp__logs_detected_field_values(osp_logs_api *api, const osp_http_request *req,
                                     osp_http_response *res)
{
    osp_log_detect_query q;
    osp_detected_field *f;
    osp_str name;
    size_t n;
    if (osp__logs_path_name(req, res, OSP_LOGS_DETECTED_FIELD_PREFIX, "field", &name) ||
        detect_params(api, req, res, &q))
        return;
    q.values_of = name;
    if (detect_fields(api, req, res, &q, &f, &n))
        return;
    osp_buf *b = &res->body;
    osp_buf_reset(b);
    if (n == 0) {
        osp__logs_finish(res, osp_buf_puts(b, "{}"));
        return;
    }
    int rc = osp_buf_printf(b, "{\"limit\":%zu,\"values\":[", q.limit);
    for (size_t i = 0; rc == 0 && i < f[0].nvalues; i++)
        rc = (i ? osp_buf_putc(b, ',') : 0) ||
             osp_buf_json_str(b, f[0].values[i].p, f[0].values[i].n);
    osp__logs_finish(res, rc ? rc : osp_buf_puts(b, "]}"));
}
