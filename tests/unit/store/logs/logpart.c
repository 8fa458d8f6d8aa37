/* Tests for src/store/logs/logpart.c: one log part file, written and read back. */
#include "testutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "core/arena.h"
#include "core/checksum.h"
#include "core/endian.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/mem.h"
#include "model/attr.h"
#include "model/logstream.h"
#include "store/logs/logformat.h"
#include "store/logs/logpart.h"
#include "store/logs/logtoken.h"
#include "store/storetest.h"

#include "loggen.h"

#define T0 1730000000000000000ull /* 2024-10-27 */

static uint64_t rng_state = 1;

static uint64_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return rng_state >> 17;
}

/* ---- Building batches ------------------------------------------------------------------ */

static osp_str keep(osp_log_batch *b, const osp_buf *buf)
{
    return buf->len ? osp_arena_strdup(&b->arena, osp_buf_str(buf)) : osp_str_make("", 0);
}

static osp_str anyvalue(osp_log_batch *b, const osp_value *v)
{
    osp_buf buf;
    osp_buf_init(&buf, 0);
    assert_int_equal(osp_value_put(&buf, v), 0);
    osp_str s = keep(b, &buf);
    osp_buf_cleanup(&buf);
    return s;
}

/* An attrs blob of count pairs "key", value-as-string-or-int. */
static osp_str attrs(osp_log_batch *b, const char *const *kv, size_t count)
{
    osp_buf buf;
    osp_buf_init(&buf, 0);
    for (size_t i = 0; i < count; i++) {
        osp_value v = {.type = OSP_VAL_STRING, .s = osp_str_c(kv[2 * i + 1])};
        if (kv[2 * i + 1][0] == '#') {
            v.type = OSP_VAL_INT;
            v.i = strtoll(kv[2 * i + 1] + 1, NULL, 10);
        }
        assert_int_equal(osp_attr_append(&buf, osp_str_c(kv[2 * i]), &v), 0);
    }
    osp_str s = keep(b, &buf);
    osp_buf_cleanup(&buf);
    return s;
}

static uint32_t add_resource(osp_log_batch *b, const char *service, const char *pod)
{
    const char *kv[] = {"service.name",           service, "k8s.pod.name", pod,
                        "deployment.environment", "prod"};
    osp_resource *r = osp_log_batch_add_resource(b);
    r->service_name = osp_str_c(service);
    r->attributes = attrs(b, kv, 3);
    return (uint32_t)(b->nresources - 1);
}

static void add_scope(osp_log_batch *b, const char *name, const char *version)
{
    osp_scope *s = osp_log_batch_add_scope(b);
    s->name = osp_str_c(name);
    s->version = osp_str_c(version);
}

static osp_log_record *add_line(osp_log_batch *b, uint32_t res, uint64_t t, const char *line)
{
    osp_log_record *r = osp_log_batch_add_record(b);
    osp_value v = {.type = OSP_VAL_STRING, .s = osp_str_c(line)};
    r->time_ns = t;
    r->observed_ns = t + 1000;
    r->resource = res;
    r->has_body = 1;
    r->body = anyvalue(b, &v);
    r->severity_number = OSP_SEVERITY_INFO;
    r->severity_text = osp_str_c("INFO");
    return r;
}

/* Records exercising every field and every body kind, spread over a few streams. */
static void make_odd_batch(osp_log_batch *b)
{
    osp_log_batch_init(b);
    uint32_t r0 = add_resource(b, "api", "api-1"), r1 = add_resource(b, "db", "db-0");
    osp_resource *odd = osp_log_batch_add_resource(b);
    odd->dropped_attributes = 3;
    odd->schema_url = osp_str_c("https://opentelemetry.io/schemas/1.24.0");
    odd->entity_refs = osp_str_c("\x0a\x03"
                                 "abc");
    add_scope(b, "", "");
    add_scope(b, "io.opentelemetry.logback", "1.2.3");
    osp_scope *sc = osp_log_batch_add_scope(b);
    sc->dropped_attributes = 9;
    sc->attributes = attrs(b, (const char *const[]){"lib", "x"}, 1);
    sc->schema_url = osp_str_c("s");
    /* the same but for the dropped counts, in the same stream: told apart all the same */
    *osp_log_batch_add_resource(b) = (osp_resource){
        .dropped_attributes = 4, .schema_url = odd->schema_url, .entity_refs = odd->entity_refs};
    osp_scope *sc2 = osp_log_batch_add_scope(b);
    *sc2 = b->scopes[2];
    sc2->dropped_attributes = 8;

    osp_buf arr;
    osp_buf_init(&arr, 0);
    osp_value e1 = {.type = OSP_VAL_INT, .i = -5},
              e2 = {.type = OSP_VAL_STRING, .s = osp_str_c("x")};
    osp_array_append(&arr, &e1);
    osp_array_append(&arr, &e2);
    osp_value bodies[] = {
        {.type = OSP_VAL_STRING, .s = osp_str_c("plain line id=42")},
        {.type = OSP_VAL_STRING, .s = osp_str_c("")},
        {.type = OSP_VAL_INT, .i = -123456789},
        {.type = OSP_VAL_DOUBLE, .d = -0.0},
        {.type = OSP_VAL_BOOL, .i = 1},
        {.type = OSP_VAL_BYTES, .s = osp_str_make("\x00\xff\x01", 3)},
        {.type = OSP_VAL_ARRAY, .s = keep(b, &arr)},
        {.type = OSP_VAL_KVLIST, .s = attrs(b, (const char *const[]){"a", "b", "n", "#7"}, 2)},
    };
    osp_buf_cleanup(&arr);
    const char *const kv[] = {"http.method", "GET", "status", "#200", "path", "/x"};
    for (int i = 0; i < 60; i++) {
        uint32_t res = i % 3 == 0 ? r0 : i % 3 == 1 ? r1 : i % 6 == 2 ? 2 : 3;
        osp_log_record *r = add_line(b, res, T0 + (uint64_t)(i * 7919 % 61) * 1000, "x");
        r->scope = (uint32_t)(i % 3 < 2 ? i % 3 : i % 4 == 1 ? 2 : 3);
        r->labels_from = (uint8_t)(i % 2);
        r->flags = (uint32_t)i;
        r->dropped_attributes = (uint32_t)(i % 4);
        r->severity_number = i % 5 == 0 ? -7 : i % 25;
        r->severity_text = i % 4 ? osp_str_c("WARN") : osp_str_c("");
        r->event_name = i % 6 == 0 ? osp_str_c("login") : osp_str_c("");
        r->observed_ns = i % 7 == 0 ? 0 : r->time_ns + (uint64_t)i * 12345 - 300000;
        if (i % 9 == 0) /* no time: filed at observed */
            r->time_ns = 0, r->observed_ns = T0 + (uint64_t)i;
        if (i % 2)
            memset(r->trace_id, i % 4 == 1 ? 0xab : i, 16);
        if (i % 3)
            memset(r->span_id, i + 1, 8);
        r->attributes = attrs(b, kv, (size_t)(i % 4));
        switch (i % 12) {
        case 8: /* non-canonical attributes: a non-minimal length varint */
            r->attributes = osp_str_make("\x0a\x80\x00", 3);
            break;
        case 9: /* not attributes at all */
            r->attributes = osp_str_make("\xff\xfe", 2);
            break;
        }
        r->has_body = 1;
        r->body = anyvalue(b, &bodies[i % 8]);
        if (i % 10 == 8) /* no body */
            r->has_body = 0, r->body = osp_str_make("", 0);
        if (i % 10 == 9) /* the empty AnyValue */
            r->body = osp_str_make("", 0);
        if (i % 15 == 4) /* a string body with a non-minimal length */
            r->body = osp_str_make("\x0a\x83\x00"
                                   "abc",
                                   6);
        if (i % 15 == 5) /* garbage */
            r->body = osp_str_make("\x0a\x09"
                                   "ab",
                                   4);
        if (i % 15 == 6) /* body bytes but has_body unset */
            r->has_body = 0;
    }
}

/* Realistic service logs: five services of three pods each. Three are Java-style
 * (millisecond timestamps, lines with their own time, level, thread and logger), two emit
 * JSON (microsecond timestamps). Templated messages with ids, durations and status codes;
 * requests carry a trace id over a few lines, each line its own span id. */
static void make_service_batch(osp_log_batch *b, size_t nlines)
{
    static const char *const services[] = {"checkout", "payments", "inventory", "auth", "gateway"};
    static const char *const paths[] = {"/api/v1/cart", "/api/v1/orders", "/api/v1/users",
                                        "/healthz", "/api/v1/items"};
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
    static const char *const levels[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char line[640], msg[400], pod[64];
    osp_log_batch_init(b);
    add_scope(b, "app", "1.0.0");
    uint32_t res[15];
    uint64_t now[15];
    for (int i = 0; i < 15; i++) {
        snprintf(pod, sizeof pod, "%s-7d9f8c%02x-%c%c%c", services[i / 3], (unsigned)rnd() % 256,
                 'a' + (int)(rnd() % 26), 'a' + (int)(rnd() % 26), 'a' + (int)(rnd() % 26));
        res[i] = add_resource(b, services[i / 3], osp_arena_strdup(&b->arena, osp_str_c(pod)).p);
        now[i] = T0;
    }
    uint8_t trace[16] = {0}, span[8] = {0};
    int trace_left = 0, s_req = 0;
    for (size_t n = 0; n < nlines; n++) {
        /* The lines of one request come from the pod that serves it. */
        int s = trace_left > 0 ? s_req : (int)(rnd() % 15), json = s >= 9;
        uint64_t unit = json ? 1000 : 1000000;
        now[s] += (1 + rnd() % 40) * 1000000 / unit * unit + (rnd() % 1000000) / unit * unit;
        unsigned status = rnd() % 20 == 0 ? 500 : rnd() % 10 == 0 ? 404 : 200;
        unsigned user = (unsigned)(rnd() % 5000), ms = (unsigned)(rnd() % 900);
        const char *path = paths[rnd() % 5], *method = methods[rnd() % 4];
        int lvl = 1;
        switch (rnd() % 8) {
        case 0:
        case 1:
        case 2:
            snprintf(msg, sizeof msg,
                     "%s %s/%u completed status=%u duration=%ums request_id=%08llx", method, path,
                     user, status, ms, (unsigned long long)(rnd() & 0xffffffff));
            lvl = status >= 500 ? 3 : 1;
            break;
        case 3:
            snprintf(msg, sizeof msg,
                     "order created order_id=ord_%06u amount=%u.%02u currency=USD "
                     "user_id=%u items=%u",
                     (unsigned)(rnd() % 1000000), (unsigned)(rnd() % 500), (unsigned)(rnd() % 100),
                     user, (unsigned)(1 + rnd() % 9));
            break;
        case 4:
            snprintf(msg, sizeof msg,
                     "db query SELECT * FROM orders WHERE user_id = $1 took %ums rows=%u", ms / 10,
                     (unsigned)(rnd() % 50));
            lvl = 0;
            break;
        case 5:
            snprintf(msg, sizeof msg, "cache %s key=user:%u ttl=300s", rnd() % 3 ? "hit" : "miss",
                     user);
            lvl = 0;
            break;
        case 6:
            snprintf(msg, sizeof msg, "slow request path=%s duration=%ums threshold=500ms", path,
                     500 + ms);
            lvl = 2;
            break;
        default:
            snprintf(
                msg, sizeof msg,
                "upstream connect error: connection reset by peer remote=10.0.%u.%u:8080 retry=%u",
                (unsigned)(rnd() % 4), (unsigned)(rnd() % 256), (unsigned)(rnd() % 3));
            lvl = 3;
            break;
        }
        time_t sec = (time_t)(now[s] / 1000000000);
        struct tm tm;
        char ts[32];
        gmtime_r(&sec, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        if (json)
            snprintf(line, sizeof line,
                     "{\"ts\":\"%s.%06lluZ\",\"level\":\"%c%s\",\"caller\":\"handler/%s.go:%u\","
                     "\"msg\":\"%s\",\"service\":\"%s\"}",
                     ts, (unsigned long long)(now[s] / 1000 % 1000000), levels[lvl][0] | 0x20, "",
                     services[s / 3], 100 + (unsigned)(rnd() % 4) * 37, msg, services[s / 3]);
        else
            snprintf(line, sizeof line,
                     "%s.%03lluZ %-5s [http-nio-8080-exec-%u] c.e.%s.api.%sController : %s", ts,
                     (unsigned long long)(now[s] / 1000000 % 1000), levels[lvl],
                     1 + (unsigned)(rnd() % 10), services[s / 3], rnd() % 2 ? "Order" : "Cart",
                     msg);
        osp_log_record *r = add_line(b, res[s], now[s], line);
        r->observed_ns = json ? now[s] : 0;
        r->severity_number = OSP_SEVERITY_DEBUG + 4 * lvl;
        r->severity_text = osp_str_c(levels[lvl]);
        if (n % 7 == 3) { /* a line whose level only the line itself tells */
            r->severity_number = 0;
            r->severity_text = OSP_STR_NULL;
        }
        if (rnd() % 10 < 4) { /* a request: a few lines share its trace */
            if (trace_left-- <= 0) {
                for (int k = 0; k < 16; k++)
                    trace[k] = (uint8_t)rnd();
                trace_left = (int)(rnd() % 4);
                s_req = s;
            }
            for (int k = 0; k < 8; k++)
                span[k] = (uint8_t)rnd();
            memcpy(r->trace_id, trace, 16);
            memcpy(r->span_id, span, 8);
            r->flags = 1;
        }
        if (json) {
            const char *const kv[] = {"code.function", "handle", "thread.name", "worker-3"};
            r->attributes = attrs(b, kv, 2);
        }
    }
}

/* Adds the nth line of a clock stream: zero-padded fields of one width (FIXED variable
 * streams) beside constants (folded into the template). */
static void add_clock_line(osp_log_batch *b, uint32_t res, size_t n)
{
    char line[128];
    snprintf(line, sizeof line, "12:%02u:%02u.%03u pid 4242 seq %zu took %ums",
             (unsigned)(n / 6000 % 60), (unsigned)(n / 100 % 60), (unsigned)(n % 1000), n,
             (unsigned)(rnd() % 300));
    add_line(b, res, T0 + n, line);
}

/* Lines whose template split is tricky, then generated ones: many variables, random
 * numbers of every size; and as every other line, a clock stream's. */
static void make_template_batch(osp_log_batch *b, size_t nlines)
{
    static const char *const lines[] = {
        "",
        "0",
        "007",
        "000",
        "x007y 0x07",
        "id=0 n=10 m=0010",
        "neg -5 and -0 and --7 and +3 and 5-3",
        "2^63-1 9223372036854775807 2^63 9223372036854775808 2^64-1 18446744073709551615",
        "2^64 18446744073709551616 huge 123456789012345678901234567890",
        "padded 0000000000000000007 00000000000000000000000000001 0000000000000000000",
        "placeholder \x11 byte",
        "\x11"
        "12",
        "ends with a placeholder 5\x11",
        "unicode: h\xc3\xa9llo w\xc3\xb6rld 42 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac 7\xe4\xbb\xb6",
        "not utf-8 \xff\xfe 12 \xc3 34\x80",
        "hex 0x1f deadbeef 7d9f8c 12ms 3.14 1e10 v2 ab_12_cd",
        "10.0.3.45:8080 [27/Oct/2024:03:46:40 +0000] 2024-10-27T03:46:40.123Z",
        "no digits here at all",
        "  12  ",
        "\t1\n2\r\n",
    };
    char line[1024];
    osp_log_batch_init(b);
    add_scope(b, "app", "1.0.0");
    uint32_t res = add_resource(b, "tpl", "tpl-0"), clock = add_resource(b, "tpl", "clock-0");
    for (size_t n = 0; n < nlines; n++) {
        const char *text = lines[n % (sizeof lines / sizeof lines[0])];
        if (n % 2 == 1) {
            add_clock_line(b, clock, n);
            continue;
        }
        if (n % 3 == 1) { /* many variables: more positions than variable streams */
            size_t len = (size_t)snprintf(line, sizeof line, "vars");
            for (int k = 0; k < 40; k++)
                len += (size_t)snprintf(line + len, sizeof line - len, " %llu",
                                        (unsigned long long)(rnd() >> (rnd() % 64)));
            text = line;
        } else if (n % 3 == 2) {
            snprintf(line, sizeof line, "req %u took %ums code=%03u at %llu user %s%u",
                     (unsigned)rnd(), (unsigned)(rnd() % 1000), (unsigned)(rnd() % 1000),
                     (unsigned long long)(rnd() * rnd()), rnd() % 2 ? "0" : "",
                     (unsigned)(rnd() % 100));
            text = line;
        }
        add_line(b, res, T0 + n, text);
    }
}

/* ---- Writing and reading --------------------------------------------------------------- */

typedef struct sorted {
    osp_arena arena;
    osp_label **labels; /* per source record */
    size_t *nlabels;
    size_t *order;    /* part order of the source records */
    uint32_t *stream; /* local stream of each position of order */
    size_t nstreams;
    const osp_log_batch *b;
} sorted;

static const sorted *cmp_ctx;

static int cmp_rec(const void *x, const void *y)
{
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    int c = osp_logpart_labels_cmp(cmp_ctx->labels[i], cmp_ctx->nlabels[i], cmp_ctx->labels[j],
                                   cmp_ctx->nlabels[j]);
    if (c)
        return c;
    uint64_t a = osp_log_time(&cmp_ctx->b->records[i]), z = osp_log_time(&cmp_ctx->b->records[j]);
    if (a != z)
        return a < z ? -1 : 1;
    return (i > j) - (i < j);
}

static void sort_batch(sorted *s, const osp_log_batch *b)
{
    size_t n = b->nrecords;
    osp_arena_init(&s->arena, 0, 0);
    s->b = b;
    s->labels = calloc(n + 1, sizeof *s->labels);
    s->nlabels = calloc(n + 1, sizeof *s->nlabels);
    s->order = calloc(n + 1, sizeof *s->order);
    s->stream = calloc(n + 1, sizeof *s->stream);
    for (size_t i = 0; i < n; i++) {
        const osp_log_record *r = &b->records[i];
        assert_int_equal(osp_log_stream_labels(&b->resources[r->resource], r->labels_from,
                                               &s->arena, &s->labels[i], &s->nlabels[i]),
                         0);
        s->order[i] = i;
    }
    cmp_ctx = s;
    qsort(s->order, n, sizeof *s->order, cmp_rec);
    s->nstreams = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = s->order[k], p = k ? s->order[k - 1] : 0;
        if (k && osp_logpart_labels_cmp(s->labels[p], s->nlabels[p], s->labels[i], s->nlabels[i]))
            s->nstreams++;
        s->stream[k] = (uint32_t)s->nstreams;
    }
    s->nstreams += n > 0;
}

static void sorted_cleanup(sorted *s)
{
    osp_arena_cleanup(&s->arena);
    free(s->labels);
    free(s->nlabels);
    free(s->order);
    free(s->stream);
}

/* Adds the first n records of s to w, in part order. */
static void add_rows(osp_logpart_writer *w, const sorted *s, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = s->order[k];
        assert_int_equal(osp_logpart_writer_add(w, s->labels[i], s->nlabels[i], s->b, i), 0);
    }
}

/* Writes s's batch as dir/name and returns the file size. */
static uint64_t write_part(const char *dir, const char *name, const sorted *s, int level)
{
    char tmp[512], path[512];
    uint64_t replaces[] = {3, 5}, bytes = 0;
    osp_logpart_writer *w;
    osp_logpart_writer_options opt = {
        .wal_lsn = 77, .replaces = replaces, .nreplaces = 2, .zstd_level = level};
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(osp_logpart_writer_create(tmp, &opt, &w), 0);
    add_rows(w, s, s->b->nrecords);
    assert_int_equal(osp_logpart_writer_finish(w, &bytes), 0);
    assert_int_equal(rename(tmp, path), 0);
    return bytes;
}

static osp_logpart *open_part(const char *dir, const char *name)
{
    char path[512];
    osp_logpart *p = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(osp_logpart_open(path, &p), 0);
    return p;
}

/* 1 when position k of s passes f (streams, time, ids). */
static int selects(const sorted *s, size_t k, const osp_logpart_filter *f)
{
    const osp_log_record *r = &s->b->records[s->order[k]];
    uint64_t t = osp_log_time(r);
    if (f->streams && !f->streams[s->stream[k]])
        return 0;
    if (t < f->start_ns || (f->end_ns && t >= f->end_ns))
        return 0;
    if (f->trace_id && memcmp(r->trace_id, f->trace_id, 16))
        return 0;
    return !f->span_id || !memcmp(r->span_id, f->span_id, 8);
}

/* Reads every granule with f and checks the result is exactly the rows f selects (with
 * no_body, each with no body and the rest of it as written). */
static size_t check_read(osp_logpart *p, const sorted *s, const osp_logpart_filter *f)
{
    const osp_logpart_info *info = osp_logpart_get_info(p);
    osp_log_batch out;
    uint32_t *streams = NULL;
    size_t nstreams = 0, cap = 0, want = 0, row = 0;
    osp_log_batch_init(&out);
    for (size_t g = 0; g < info->ngranules; g++) {
        size_t before = out.nrecords;
        int n = osp_logpart_read_granule(p, g, f, &out, &streams, &nstreams, &cap);
        assert_true(n >= 0);
        assert_int_equal((size_t)n, out.nrecords - before);
        row += osp_logpart_granule_at(p, g)->rows;
    }
    assert_int_equal(row, s->b->nrecords);
    assert_int_equal(nstreams, out.nrecords);
    for (size_t k = 0; k < s->b->nrecords; k++) {
        if (!selects(s, k, f))
            continue;
        assert_true(want < out.nrecords);
        /* the level a row's line gives is kept: read without it, the row has the same */
        osp_str got, wanted;
        assert_int_equal(osp_log_detected_level(&out, want, &out.arena, &got), 0);
        assert_int_equal(osp_log_detected_level(s->b, s->order[k], &out.arena, &wanted), 0);
        assert_true(osp_str_eq(got, wanted));
        if (f->no_body) {
            osp_log_record *r = &out.records[want], *w = &s->b->records[s->order[k]];
            assert_true(r->has_body == 0 && r->body.n == 0);
            r->has_body = w->has_body;
            r->body = w->body;
        }
        assert_true(osp_log_record_equal(&out, want, s->b, s->order[k]));
        assert_int_equal(streams[want], s->stream[k]);
        want++;
    }
    assert_int_equal(want, out.nrecords);
    osp_free(streams);
    osp_log_batch_cleanup(&out);
    return want;
}

typedef struct times_seen {
    uint32_t *stream;
    uint64_t *t;
    size_t n, cap, stop_at; /* stop_at: stop the read after this many rows (0: never) */
} times_seen;

static int see_time(uint32_t stream, uint64_t t_ns, void *ctx)
{
    times_seen *ts = ctx;
    assert_true(ts->n < ts->cap);
    ts->stream[ts->n] = stream;
    ts->t[ts->n++] = t_ns;
    return ts->n == ts->stop_at ? 7 : 0;
}

/* Reads every granule's times with f: the rows f selects, their streams and times alone. */
static size_t check_times(osp_logpart *p, const sorted *s, const osp_logpart_filter *f)
{
    const osp_logpart_info *info = osp_logpart_get_info(p);
    times_seen ts = {osp_calloc(s->b->nrecords + 1, sizeof *ts.stream),
                     osp_calloc(s->b->nrecords + 1, sizeof *ts.t), 0, s->b->nrecords, 0};
    size_t want = 0;
    for (size_t g = 0; g < info->ngranules; g++)
        assert_int_equal(osp_logpart_read_times(p, g, f, see_time, &ts), 0);
    for (size_t k = 0; k < s->b->nrecords; k++) {
        if (!selects(s, k, f) || (f->trace_id || f->span_id))
            continue;
        assert_true(want < ts.n);
        assert_int_equal(ts.t[want], osp_log_time(&s->b->records[s->order[k]]));
        assert_int_equal(ts.stream[want], s->stream[k]);
        want++;
    }
    assert_int_equal(want, ts.n);
    /* a non-zero answer stops the read and is its result */
    ts.n = 0;
    ts.stop_at = 2;
    int stopped = 0;
    for (size_t g = 0; g < info->ngranules && !stopped; g++)
        stopped = osp_logpart_read_times(p, g, f, see_time, &ts);
    assert_int_equal(stopped, want >= 2 ? 7 : 0);
    assert_int_equal(ts.n, want >= 2 ? 2 : want);
    osp_free(ts.stream);
    osp_free(ts.t);
    return want;
}

static int see_run(uint32_t stream, uint32_t rows, void *ctx)
{
    times_seen *ts = ctx;
    for (uint32_t k = 0; k < rows; k++) {
        assert_true(ts->n < ts->cap);
        ts->stream[ts->n++] = stream;
    }
    return ts->n >= ts->stop_at && ts->stop_at ? 7 : 0;
}

/* Reads every granule's stream runs with f where f's time range holds the granule: the
 * streams of the rows f selects, as many rows of each as check_times sees; a granule
 * that reaches past f's range is refused. Returns the rows seen. */
static size_t check_runs(osp_logpart *p, const sorted *s, const osp_logpart_filter *f)
{
    const osp_logpart_info *info = osp_logpart_get_info(p);
    times_seen ts = {osp_calloc(s->b->nrecords + 1, sizeof *ts.stream), NULL, 0, s->b->nrecords, 0};
    size_t want = 0, k = 0;
    for (size_t g = 0; g < info->ngranules; g++) {
        const osp_logpart_granule *gr = osp_logpart_granule_at(p, g);
        int inside = gr->min_time >= f->start_ns && (!f->end_ns || gr->max_time < f->end_ns);
        assert_int_equal(osp_logpart_read_runs(p, g, f, see_run, &ts), inside ? 0 : OSP_EINVAL);
        for (size_t end = k + gr->rows; k < end; k++)
            if (inside && selects(s, k, f)) {
                assert_true(want < ts.n);
                assert_int_equal(ts.stream[want++], s->stream[k]);
            }
    }
    assert_int_equal(want, ts.n);
    osp_free(ts.stream);
    return want;
}

static void test_round_trip_every_field(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("logpart");
    osp_log_batch b;
    sorted s;
    make_odd_batch(&b);
    sort_batch(&s, &b);
    uint64_t bytes = write_part(dir, "a.part", &s, 0);
    osp_logpart *p = open_part(dir, "a.part");
    const osp_logpart_info *info = osp_logpart_get_info(p);
    assert_int_equal(info->nrows, b.nrecords);
    assert_int_equal(info->bytes, bytes);
    assert_int_equal(info->wal_lsn, 77);
    assert_int_equal(info->nreplaces, 2);
    assert_int_equal(info->replaces[1], 5);
    assert_int_equal(info->nstreams, s.nstreams);
    assert_int_equal(info->ngranules, 1);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < b.nrecords; i++) {
        uint64_t t = osp_log_time(&b.records[i]);
        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    assert_int_equal(info->min_time, lo);
    assert_int_equal(info->max_time, hi);
    osp_logpart_filter all = {0};
    assert_int_equal(check_read(p, &s, &all), b.nrecords);
    all.no_body = 1;
    assert_int_equal(check_read(p, &s, &all), b.nrecords);
    /* The stream table: label sets, time ranges and sizes of the source. */
    for (size_t k = 0, pos = 0; k < info->nstreams; k++) {
        const osp_label *l;
        size_t n;
        uint64_t smin, smax, rows, line_bytes, want_bytes = 0, first = pos;
        osp_logpart_stream(p, k, &l, &n);
        osp_logpart_stream_time(p, k, &smin, &smax);
        osp_logpart_stream_size(p, k, &rows, &line_bytes);
        size_t i = s.order[pos];
        assert_int_equal(osp_logpart_labels_cmp(l, n, s.labels[i], s.nlabels[i]), 0);
        assert_int_equal(smin, osp_log_time(&b.records[i]));
        for (;; pos++) {
            want_bytes += lg_stored_line_bytes(&b.records[s.order[pos]]);
            if (pos + 1 == b.nrecords || s.stream[pos + 1] != k)
                break;
        }
        assert_int_equal(smax, osp_log_time(&b.records[s.order[pos]]));
        assert_int_equal(rows, pos - first + 1);
        assert_int_equal(line_bytes, want_bytes);
        pos++;
    }
    osp_logpart_close(p);
    sorted_cleanup(&s);
    osp_log_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

/* String bodies split into templates and variables come back byte for byte, whatever
 * their tokens, over several granules, read whole and filtered (rows skipped); a line
 * past the templated bound is kept whole. */
static void test_template_bodies(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("logpart");
    osp_log_batch b;
    sorted s;
    rng_state = 13;
    make_template_batch(&b, 20000);
    size_t big = OSP_LOGPART_MAX_TEMPLATED_BYTES + 1000;
    char *huge = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        huge[i] = "12 x"[i % 4];
    huge[big] = 0;
    add_line(&b, 0, T0 + 20000, huge);
    free(huge);
    add_line(&b, 0, T0 + 20001, "after the huge line 1 2 3");
    sort_batch(&s, &b);
    write_part(dir, "a.part", &s, 0);
    osp_logpart *p = open_part(dir, "a.part");
    const osp_logpart_info *info = osp_logpart_get_info(p);
    assert_true(info->ngranules >= 3);
    osp_logpart_filter f = {0};
    assert_int_equal(check_read(p, &s, &f), b.nrecords);
    f.start_ns = T0 + 7001;
    f.end_ns = T0 + 20001;
    assert_int_equal(check_read(p, &s, &f), 13000);
    osp_logpart_close(p);
    sorted_cleanup(&s);
    osp_log_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

/* Parts written before template-split bodies (their BODY blocks end after the raw
 * stream) still read: the fuzzing seeds kept from then. */
static void test_untemplated_parts(void **state)
{
    (void)state;
    const char *const seeds[] = {"fuzz/corpus/logpart_read/every-field-untemplated.part",
                                 "fuzz/corpus/logpart_read/service-untemplated.part"};
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        osp_logpart *p = NULL;
        assert_int_equal(osp_logpart_open(seeds[i], &p), 0);
        const osp_logpart_info *info = osp_logpart_get_info(p);
        osp_logpart_filter all = {0};
        osp_log_batch out;
        uint32_t *streams = NULL;
        size_t nstreams = 0, cap = 0, lines = 0;
        osp_log_batch_init(&out);
        for (size_t g = 0; g < info->ngranules; g++)
            assert_true(osp_logpart_read_granule(p, g, &all, &out, &streams, &nstreams, &cap) > 0);
        assert_int_equal(out.nrecords, info->nrows);
        for (size_t r = 0; r < out.nrecords; r++) {
            osp_str line;
            lines += osp_log_line(&out.records[r], &scratch, &line) == 0 && line.n > 0;
        }
        assert_true(lines > out.nrecords / 2);
        osp_free(streams);
        osp_log_batch_cleanup(&out);
        osp_logpart_close(p);
    }
    osp_buf_cleanup(&scratch);
}

static void test_labels_cmp(void **state)
{
    (void)state;
    osp_label a[] = {{OSP_STR_LIT("app"), OSP_STR_LIT("x")},
                     {OSP_STR_LIT("env"), OSP_STR_LIT("p")}};
    osp_label b[] = {{OSP_STR_LIT("app"), OSP_STR_LIT("y")}};
    osp_label c[] = {{OSP_STR_LIT("app"), OSP_STR_LIT("x")}};
    assert_true(osp_logpart_labels_cmp(a, 2, b, 1) < 0);
    assert_true(osp_logpart_labels_cmp(c, 1, a, 2) < 0); /* a prefix sorts first */
    assert_true(osp_logpart_labels_cmp(a, 2, c, 1) > 0);
    assert_int_equal(osp_logpart_labels_cmp(a, 2, a, 2), 0);
    assert_int_equal(osp_logpart_labels_cmp(NULL, 0, NULL, 0), 0);
}

/* Many streams, several granules, and filters on streams, time and ids. */
static void test_granules_and_filters(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("logpart");
    osp_log_batch b;
    sorted s;
    rng_state = 7;
    make_service_batch(&b, 30000);
    sort_batch(&s, &b);
    write_part(dir, "a.part", &s, 0);
    osp_logpart *p = open_part(dir, "a.part");
    const osp_logpart_info *info = osp_logpart_get_info(p);
    assert_int_equal(info->nstreams, 15);
    assert_true(info->ngranules >= 4);
    for (size_t g = 0; g < info->ngranules; g++)
        assert_true(osp_logpart_granule_at(p, g)->rows <= OSP_LOGPART_GRANULE_ROWS);
    osp_logpart_filter f = {0};
    check_read(p, &s, &f);
    uint8_t streams[15] = {0};
    streams[3] = streams[4] = streams[11] = 1;
    f.streams = streams;
    assert_true(check_read(p, &s, &f) > 0);
    f.start_ns = info->min_time + (info->max_time - info->min_time) / 3;
    f.end_ns = info->max_time - (info->max_time - info->min_time) / 3;
    size_t within = check_read(p, &s, &f);
    assert_true(within > 0);
    /* times alone, and records without bodies: the same rows */
    assert_int_equal(check_times(p, &s, &f), within);
    f.no_body = 1;
    assert_int_equal(check_read(p, &s, &f), within);
    /* stream runs alone, in the granules the time range holds */
    assert_true(check_runs(p, &s, &f) < within); /* each granule spans more than the range */
    f.streams = NULL;
    f.start_ns = 0;
    f.end_ns = info->max_time;
    assert_true(check_runs(p, &s, &f) < b.nrecords); /* the last granule reaches past it */
    f = (osp_logpart_filter){0};
    assert_int_equal(check_times(p, &s, &f), b.nrecords);
    assert_int_equal(check_runs(p, &s, &f), b.nrecords);
    times_seen ts = {osp_calloc(b.nrecords, sizeof *ts.stream), NULL, 0, b.nrecords, 1};
    assert_int_equal(osp_logpart_read_runs(p, 0, &f, see_run, &ts), 7); /* fn's answer stops */
    assert_true(ts.n >= 1 && ts.n <= osp_logpart_granule_at(p, 0)->rows);
    osp_free(ts.stream);
    /* The stream filter skips granules outside the streams' range. */
    memset(streams, 0, sizeof streams);
    streams[14] = 1;
    f = (osp_logpart_filter){.streams = streams};
    assert_int_equal(osp_logpart_granule_may_match(p, 0, &f), 0);
    assert_int_equal(osp_logpart_granule_may_match(p, info->ngranules - 1, &f), 1);
    f = (osp_logpart_filter){.start_ns = info->max_time + 1};
    for (size_t g = 0; g < info->ngranules; g++)
        assert_int_equal(osp_logpart_granule_may_match(p, g, &f), 0);
    /* Trace and span ids: one record's, and one that is absent. */
    const osp_log_record *with = NULL;
    for (size_t i = 0; i < b.nrecords && !with; i++)
        if (b.records[i].trace_id[0] | b.records[i].trace_id[5])
            with = &b.records[i];
    assert_non_null(with);
    f = (osp_logpart_filter){.trace_id = with->trace_id};
    assert_true(check_read(p, &s, &f) >= 1);
    size_t maybe = 0;
    for (size_t g = 0; g < info->ngranules; g++)
        maybe += (size_t)osp_logpart_granule_may_match(p, g, &f);
    assert_true(maybe >= 1 && maybe < info->ngranules);
    f = (osp_logpart_filter){.span_id = with->span_id};
    assert_true(check_read(p, &s, &f) >= 1);
    f.trace_id = with->trace_id;
    assert_true(check_read(p, &s, &f) >= 1);
    uint8_t absent[16] = {1, 2, 3};
    f = (osp_logpart_filter){.trace_id = absent};
    assert_int_equal(check_read(p, &s, &f), 0);
    osp_logpart_close(p);
    sorted_cleanup(&s);
    osp_log_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

static void collect_line_key(uint64_t key, void *ctx)
{
    (void)key;
    ++*(size_t *)ctx;
}

/* Token blooms: a rare token is only in the granules whose lines have it; and any
 * substring of any line never has its granule skipped. */
static void test_token_blooms(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("logpart");
    osp_log_batch b;
    sorted s;
    osp_buf scratch;
    osp_buf_init(&scratch, 0);
    rng_state = 11;
    make_service_batch(&b, 25000);
    /* One rare token, in one record. */
    osp_log_record *r = add_line(&b, 0, T0 + 5, "fatal: zebracorn exploded in region eu-west-9");
    r->scope = 0;
    sort_batch(&s, &b);
    write_part(dir, "a.part", &s, 0);
    osp_logpart *p = open_part(dir, "a.part");
    const osp_logpart_info *info = osp_logpart_get_info(p);
    assert_true(info->ngranules >= 3);
    uint64_t keys[64];
    size_t nkeys = osp_logtok_needle_keys(osp_str_c(" zebracorn "), keys, 64);
    assert_true(nkeys > 1);
    osp_logpart_filter f = {.keys = keys, .nkeys = nkeys};
    size_t rare_pos = 0;
    while (s.order[rare_pos] != b.nrecords - 1)
        rare_pos++;
    size_t g_rare = 0, rows = 0;
    for (; rows + osp_logpart_granule_at(p, g_rare)->rows <= rare_pos; g_rare++)
        rows += osp_logpart_granule_at(p, g_rare)->rows;
    size_t matched = 0;
    for (size_t g = 0; g < info->ngranules; g++) {
        int m = osp_logpart_granule_may_match(p, g, &f);
        matched += (size_t)m;
        if (g == g_rare)
            assert_int_equal(m, 1);
    }
    assert_int_equal(matched, 1);
    /* No false negatives: random substrings of random lines. */
    rows = 0;
    for (size_t g = 0; g < info->ngranules; g++) {
        for (int j = 0; j < 300; j++) {
            size_t k = rows + rnd() % osp_logpart_granule_at(p, g)->rows;
            osp_str line;
            assert_int_equal(osp_log_line(&b.records[s.order[k]], &scratch, &line), 0);
            if (line.n == 0)
                continue;
            size_t a = rnd() % line.n, len = 1 + rnd() % (line.n - a);
            f.nkeys = osp_logtok_needle_keys(osp_str_make(line.p + a, len), keys, 64);
            assert_int_equal(osp_logpart_granule_may_match(p, g, &f), 1);
        }
        rows += osp_logpart_granule_at(p, g)->rows;
    }
    size_t per_line = 0;
    osp_logtok_line_keys(osp_str_c("GET /api/v1/cart/12 200 3.1ms"), collect_line_key, &per_line);
    assert_true(per_line > 10);
    osp_logpart_close(p);
    sorted_cleanup(&s);
    osp_buf_cleanup(&scratch);
    osp_log_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_writer_rejects(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("logpart");
    char tmp[512];
    osp_log_batch b;
    osp_log_batch_init(&b);
    add_resource(&b, "a", "p");
    add_scope(&b, "s", "1");
    add_line(&b, 0, T0 + 10, "one");
    add_line(&b, 0, T0 + 5, "two");
    osp_log_record *bad = add_line(&b, 0, T0 + 20, "three");
    osp_label la[] = {{OSP_STR_LIT("service_name"), OSP_STR_LIT("b")}};
    osp_label lb[] = {{OSP_STR_LIT("service_name"), OSP_STR_LIT("a")}};
    osp_logpart_writer *w;
    osp_logpart_writer_options opt = {0};
    uint64_t bytes;
    snprintf(tmp, sizeof tmp, "%s/x.tmp", dir);
    assert_int_equal(osp_logpart_writer_create(tmp, &opt, &w), 0);
    assert_int_equal(osp_logpart_writer_finish(w, &bytes), OSP_EINVAL); /* no rows */
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(osp_logpart_writer_create(tmp, &opt, &w), 0);
    assert_int_equal(osp_logpart_writer_add(w, NULL, 0, &b, 0), OSP_EINVAL); /* no stream yet */
    assert_int_equal(osp_logpart_writer_add(w, la, 1, &b, 0), 0);
    assert_int_equal(osp_logpart_writer_add(w, la, 1, &b, 1), OSP_EINVAL);   /* time goes back */
    assert_int_equal(osp_logpart_writer_add(w, NULL, 0, &b, 1), OSP_EINVAL); /* the same */
    assert_int_equal(osp_logpart_writer_add(w, lb, 1, &b, 2), OSP_EINVAL);   /* stream goes back */
    bad->resource = 9;
    assert_int_equal(osp_logpart_writer_add(w, la, 1, &b, 2), OSP_EINVAL); /* no resource 9 */
    bad->resource = 0;
    assert_int_equal(osp_logpart_writer_add(w, NULL, 0, &b, 2), 0); /* continues stream b */
    assert_int_equal(osp_logpart_writer_add(w, la, 1, &b, 2), 0);   /* still usable */
    osp_logpart_writer_abort(w);
    assert_int_equal(access(tmp, F_OK), -1);
    int fd = open(tmp, O_CREAT | O_WRONLY, 0644);
    close(fd);
    assert_int_equal(osp_logpart_writer_create(tmp, &opt, &w), OSP_EIO);
    osp_log_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

/* The bytes of dir/name into b. */
static void read_part_file(const char *dir, const char *name, osp_buf *b)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    osp_buf_init(b, 0);
    assert_int_equal(osp_read_file(path, b), 0);
}

/* Granules after the first are written by the writer's own thread while rows are added:
 * the file is the same from run to run, and an abort while one is being written removes
 * it. */
static void test_granule_thread(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("logpart");
    osp_log_batch b;
    sorted s;
    rng_state = 11;
    make_service_batch(&b, 40000);
    sort_batch(&s, &b);
    write_part(dir, "a.part", &s, 0);
    write_part(dir, "b.part", &s, 0);
    osp_buf a, z;
    read_part_file(dir, "a.part", &a);
    read_part_file(dir, "b.part", &z);
    assert_int_equal(a.len, z.len);
    assert_memory_equal(a.data, z.data, a.len);
    osp_logpart *p = open_part(dir, "a.part");
    assert_true(osp_logpart_get_info(p)->ngranules >= 5);
    osp_logpart_filter f = {0};
    assert_int_equal(check_read(p, &s, &f), 40000);
    osp_logpart_close(p);
    char tmp[512];
    osp_logpart_writer *w;
    osp_logpart_writer_options opt = {0};
    snprintf(tmp, sizeof tmp, "%s/c.tmp", dir);
    assert_int_equal(osp_logpart_writer_create(tmp, &opt, &w), 0);
    add_rows(w, &s, 3 * OSP_LOGPART_GRANULE_ROWS + 10);
    osp_logpart_writer_abort(w);
    assert_int_equal(access(tmp, F_OK), -1);
    osp_buf_cleanup(&a);
    osp_buf_cleanup(&z);
    sorted_cleanup(&s);
    osp_log_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_corruption(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("logpart");
    char path[512];
    osp_log_batch b, out;
    sorted s;
    osp_logpart *p = NULL;
    uint32_t *streams = NULL;
    size_t nstreams = 0, cap = 0;
    osp_logpart_filter all = {0};
    rng_state = 3;
    make_service_batch(&b, 20000);
    sort_batch(&s, &b);
    uint64_t size = write_part(dir, "a.part", &s, 0);
    snprintf(path, sizeof path, "%s/a.part", dir);
    osp_log_batch_init(&out);

    /* A block of granule 0: it fails cleanly, the others still read. */
    osp_test_flip_byte(path, OSP_LOGPART_HEADER_SIZE + 3, 0x20);
    p = open_part(dir, "a.part");
    assert_true(osp_logpart_get_info(p)->ngranules >= 2);
    assert_int_equal(osp_logpart_read_granule(p, 0, &all, &out, &streams, &nstreams, &cap),
                     OSP_ECORRUPT);
    assert_int_equal(out.nrecords, 0);
    assert_int_equal(nstreams, 0);
    assert_true(osp_logpart_read_granule(p, 1, &all, &out, &streams, &nstreams, &cap) > 0);
    osp_logpart_close(p);
    osp_test_flip_byte(path, OSP_LOGPART_HEADER_SIZE + 3, 0x20);
    p = open_part(dir, "a.part");
    check_read(p, &s, &all);
    osp_logpart_close(p);

    /* Header, bloom block, index and footer damage: open refuses. */
    const off_t spots[] = {0,
                           9,
                           30,
                           (off_t)size - OSP_LOGPART_FOOTER_SIZE - 5,
                           (off_t)size - OSP_LOGPART_FOOTER_SIZE - 2000,
                           (off_t)size - OSP_LOGPART_FOOTER_SIZE + 2,
                           (off_t)size - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        osp_test_flip_byte(path, spots[i], 0x20);
        assert_int_equal(osp_logpart_open(path, &p), OSP_ECORRUPT);
        osp_test_flip_byte(path, spots[i], 0x20);
    }
    p = open_part(dir, "a.part");
    osp_logpart_close(p);

    /* A footer whose checksum holds but whose index starts inside the footer itself, with
     * the length that then wraps around: refused as corrupt before anything is allocated. */
    uint8_t ft[OSP_LOGPART_FOOTER_SIZE], bad[OSP_LOGPART_FOOTER_SIZE];
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, ft, sizeof ft, (off_t)(size - sizeof ft)), (ssize_t)sizeof ft);
    memcpy(bad, ft, sizeof bad);
    osp_put_le64(bad, size - sizeof bad + 10);
    osp_put_le64(bad + 8, (uint64_t)-10);
    osp_put_le64(bad + 40, XXH64(bad, 40, 0));
    assert_int_equal(pwrite(fd, bad, sizeof bad, (off_t)(size - sizeof bad)), (ssize_t)sizeof bad);
    assert_int_equal(osp_logpart_open(path, &p), OSP_ECORRUPT);
    assert_int_equal(pwrite(fd, ft, sizeof ft, (off_t)(size - sizeof ft)), (ssize_t)sizeof ft);
    close(fd);
    p = open_part(dir, "a.part");
    osp_logpart_close(p);

    /* Truncated anywhere, then garbage, then missing. */
    const off_t lens[] = {(off_t)size - 1, (off_t)size / 2,
                          OSP_LOGPART_HEADER_SIZE + OSP_LOGPART_FOOTER_SIZE, 10, 0};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        assert_int_equal(truncate(path, lens[i]), 0);
        assert_int_equal(osp_logpart_open(path, &p), OSP_ECORRUPT);
    }
    for (size_t n = 1; n < 400; n += 41) {
        FILE *fp = fopen(path, "w");
        for (size_t i = 0; i < n; i++)
            fputc((int)(i * 13 + n), fp);
        fclose(fp);
        assert_int_equal(osp_logpart_open(path, &p), OSP_ECORRUPT);
    }
    unlink(path);
    assert_int_equal(osp_logpart_open(path, &p), OSP_EIO);
    osp_free(streams);
    osp_log_batch_cleanup(&out);
    sorted_cleanup(&s);
    osp_log_batch_cleanup(&b);
    osp_test_rmdir(dir);
    free(dir);
}

/* Typical service logs: most of each line repeats, only ids, sizes and latencies vary.
 * Three kinds of stream: nginx access lines, Java application lines (Spring Boot layout,
 * logger names) and JSON request logs. */
static void make_typical_batch(osp_log_batch *b, size_t nlines)
{
    static const char *const paths[] = {"/api/v1/users", "/api/v1/orders", "/api/v1/items",
                                        "/static/app.js", "/healthz"};
    static const char *const agents[] = {
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0",
        "kube-probe/1.29", "curl/8.5.0", "okhttp/4.12.0"};
    static const char *const loggers[] = {"c.e.orders.OrderService", "c.e.orders.PaymentClient",
                                          "o.s.web.servlet.DispatcherServlet",
                                          "c.z.hikari.pool.HikariPool"};
    char line[640], ts[32];
    osp_log_batch_init(b);
    add_scope(b, "app", "1.0.0");
    uint32_t res[3] = {add_resource(b, "nginx", "nginx-0"), add_resource(b, "orders", "orders-0"),
                       add_resource(b, "api", "api-0")};
    uint64_t now = T0;
    for (size_t n = 0; n < nlines; n++) {
        int kind = (int)(rnd() % 3);
        unsigned ms = (unsigned)(rnd() % 300), id = (unsigned)(rnd() % 100000);
        unsigned status = rnd() % 50 == 0 ? 500 : rnd() % 20 == 0 ? 404 : 200;
        const char *path = paths[rnd() % 5];
        now += (1 + rnd() % 5) * 1000000;
        time_t sec = (time_t)(now / 1000000000);
        struct tm tm;
        gmtime_r(&sec, &tm);
        if (kind == 0) {
            strftime(ts, sizeof ts, "%d/%b/%Y:%H:%M:%S +0000", &tm);
            snprintf(line, sizeof line,
                     "10.2.%u.%u - - [%s] \"%s %s/%u HTTP/1.1\" %u %u \"-\" \"%s\" rt=0.%03u "
                     "uct=0.000 urt=0.%03u",
                     (unsigned)(rnd() % 4), (unsigned)(rnd() % 40), ts, rnd() % 4 ? "GET" : "POST",
                     path, id, status, 200 + (unsigned)(rnd() % 5000), agents[rnd() % 4], ms, ms);
        } else if (kind == 1) {
            strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
            int l = (int)(rnd() % 4);
            const char *msgs[] = {"Processed order", "Charged card for order",
                                  "Completed initialization in", "HikariPool-1 - Connection"};
            snprintf(line, sizeof line,
                     "%s.%03u  INFO 1 --- [nio-8080-exec-%u] %-40s : %s %u %s %u ms", ts,
                     (unsigned)(now / 1000000 % 1000), 1 + (unsigned)(rnd() % 10), loggers[l],
                     msgs[l], id, l == 3 ? "added in" : "for customer", ms);
        } else {
            strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
            snprintf(line, sizeof line,
                     "{\"time\":\"%s.%03uZ\",\"level\":\"info\",\"msg\":\"request completed\","
                     "\"method\":\"GET\",\"path\":\"%s/%u\",\"status\":%u,\"duration_ms\":%u,"
                     "\"request_id\":\"%08x\"}",
                     ts, (unsigned)(now / 1000000 % 1000), path, id, status, ms,
                     (unsigned)(rnd() & 0xffffffff));
        }
        osp_log_record *r = add_line(b, res[kind], now, line);
        r->observed_ns = now;
    }
}

/* Reads every granule of p passes times; the best pass's mean microseconds per granule. */
static double read_us_per_granule(osp_logpart *p, int passes)
{
    const osp_logpart_info *info = osp_logpart_get_info(p);
    osp_logpart_filter all = {0};
    double best = 0;
    for (int pass = 0; pass < passes; pass++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        for (size_t g = 0; g < info->ngranules; g++) {
            osp_log_batch out;
            uint32_t *streams = NULL;
            size_t nstreams = 0, cap = 0;
            osp_log_batch_init(&out);
            assert_true(osp_logpart_read_granule(p, g, &all, &out, &streams, &nstreams, &cap) > 0);
            osp_free(streams);
            osp_log_batch_cleanup(&out);
        }
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
        double us =
            ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) /
            (double)info->ngranules;
        best = pass == 0 || us < best ? us : best;
    }
    return best;
}

/* Prints the size of b written at the flush and merge levels, the writer's CPU time per
 * line and the read time. */
static void print_ratio(const char *dir, const char *what, osp_log_batch *b)
{
    sorted s;
    sort_batch(&s, b);
    size_t body = 0;
    for (size_t i = 0; i < b->nrecords; i++)
        body += b->records[i].body.n;
    const int levels[] = {OSP_LOGPART_ZSTD_LEVEL, OSP_LOGPART_ZSTD_LEVEL_MERGED};
    for (int l = 0; l < 2; l++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        uint64_t bytes = write_part(dir, l ? "m.part" : "a.part", &s, levels[l]);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
        double write_ns =
            ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
            (double)b->nrecords;
        osp_logpart *p = open_part(dir, l ? "m.part" : "a.part");
        const osp_logpart_info *info = osp_logpart_get_info(p);
        printf("logpart: %s: level %d: %zu lines (%.1f body bytes/line), %.2f bytes/line, "
               "ratio %.1fx (bodies alone %.1fx), %zu granules, write %.0f ns/line, "
               "read %.0f us/granule\n",
               what, levels[l], b->nrecords, (double)body / (double)b->nrecords,
               (double)bytes / (double)b->nrecords, (double)info->raw_bytes / (double)bytes,
               (double)body / (double)bytes, info->ngranules, write_ns, read_us_per_granule(p, 15));
        osp_logpart_close(p);
    }
    sorted_cleanup(&s);
}

/* Compression on the service workload and on typical service logs (printed, not
 * asserted). With OSP_LOGPART_CORPUS set to a directory, also writes fuzzing seeds there. */
static void test_compression_ratio(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("logpart");
    osp_log_batch b;
    sorted s;
    rng_state = 5;
    make_service_batch(&b, 100000);
    print_ratio(dir, "service", &b);
    osp_log_batch_cleanup(&b);
    make_typical_batch(&b, 100000);
    print_ratio(dir, "typical", &b);
    osp_log_batch_cleanup(&b);
    const char *corpus = getenv("OSP_LOGPART_CORPUS");
    if (corpus) {
        make_odd_batch(&b);
        sort_batch(&s, &b);
        write_part(corpus, "every-field.part", &s, 1);
        sorted_cleanup(&s);
        osp_log_batch_cleanup(&b);
        make_service_batch(&b, 300);
        sort_batch(&s, &b);
        write_part(corpus, "service.part", &s, 1);
        sorted_cleanup(&s);
        osp_log_batch_cleanup(&b);
        make_template_batch(&b, 60);
        sort_batch(&s, &b);
        write_part(corpus, "templates.part", &s, 1);
        sorted_cleanup(&s);
        osp_log_batch_cleanup(&b);
        osp_log_batch_init(&b);
        add_scope(&b, "app", "1.0.0");
        uint32_t clock = add_resource(&b, "tpl", "clock-0");
        for (size_t n = 0; n < 300; n++)
            add_clock_line(&b, clock, n * 37);
        sort_batch(&s, &b);
        write_part(corpus, "clock.part", &s, 1);
        sorted_cleanup(&s);
        osp_log_batch_cleanup(&b);
    }
    osp_test_rmdir(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_labels_cmp),           cmocka_unit_test(test_round_trip_every_field),
        cmocka_unit_test(test_granules_and_filters), cmocka_unit_test(test_token_blooms),
        cmocka_unit_test(test_writer_rejects),       cmocka_unit_test(test_granule_thread),
        cmocka_unit_test(test_corruption),           cmocka_unit_test(test_template_bodies),
        cmocka_unit_test(test_untemplated_parts),    cmocka_unit_test(test_compression_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
