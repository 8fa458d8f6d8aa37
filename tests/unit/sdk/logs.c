/* Tests for sdk/src/logs.c and log_encode.c: loggers, record stamping, the stderr JSON line
 * and the OTLP encoding decoded back field by field. */
#include "testutil.h"

#include <fcntl.h>
#include <time.h>

#include "capture.h"
#include "core/clock.h"
#include "core/pb.h"
#include "osprey/osprey.h"
#include "core/json.h"

static const osprey_span_context ctx_a = {
    .trace_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
    .span_id = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8},
    .trace_flags = 1,
};
static const osprey_span_context ctx_b = {
    .trace_id = {0xf0, 0xe0, 0xd0, 0xc0, 0xb0, 0xa0, 0x90, 0x80, 7, 6, 5, 4, 3, 2, 1, 0xff},
    .span_id = {8, 7, 6, 5, 4, 3, 2, 1},
    .trace_flags = 0,
};

static int setup(void **state)
{
    *state = fixture_new(false, NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

/* Flushes the log batch and returns the number of captured records. */
static size_t flush_logs(fixture *f)
{
    assert_int_equal(osprey__batch_flush(f->p->logs, 2000), 0);
    return f->logs.n;
}

static osprey__log_record *log_at(fixture *f, size_t i)
{
    assert_true(i < f->logs.n);
    return f->logs.items[i];
}

static void test_logger_get(void **state)
{
    fixture *f = *state;
    osprey_logger *a = osprey_logger_get(f->p, "svc.a", OSPREY_INFO);
    osprey_logger *b = osprey_logger_get(f->p, "svc.b", OSPREY_DEBUG);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_string_equal(a->name, "svc.a");
    assert_ptr_equal(a->provider, f->p);
    assert_ptr_equal(osprey_logger_get(f->p, "svc.a", OSPREY_ERROR), a);
    assert_int_equal(a->min_severity, OSPREY_ERROR);
    assert_null(osprey_logger_get(f->p, NULL, OSPREY_INFO));
    assert_null(osprey_logger_get(NULL, "x", OSPREY_INFO));
}

static void test_log_current_context(void **state)
{
    fixture *f = *state;
    osprey_logger *l = osprey_logger_get(f->p, "ctx", OSPREY_TRACE);
    osprey_attr attrs[] = {OSPREY_STR("user", "alice"), OSPREY_INT("n", 42),
                           OSPREY_BOOL("ok", true)};
    uint64_t before = osprey_now_ns();
    osprey_scope s = osprey_attach(&ctx_a);
    osprey_log(l, OSPREY_INFO, "hello", attrs, 3);
    osprey_detach(s);
    osprey_log(l, OSPREY_DEBUG, "no context", NULL, 0);
    uint64_t after = osprey_now_ns();

    assert_int_equal(flush_logs(f), 2);
    osprey__log_record *r = log_at(f, 0);
    assert_ptr_equal(r->logger, l);
    assert_int_equal(r->severity, OSPREY_INFO);
    assert_string_equal(r->body, "hello");
    assert_null(r->event_name);
    assert_true(r->time_ns >= before && r->time_ns <= after);
    assert_true(r->observed_ns >= r->time_ns && r->observed_ns <= after);
    assert_memory_equal(r->trace_id, ctx_a.trace_id, 16);
    assert_memory_equal(r->span_id, ctx_a.span_id, 8);
    assert_int_equal(r->flags, 1);
    assert_int_equal(r->attrs.n, 3);
    assert_string_equal(attr_str(&r->attrs, "user"), "alice");
    assert_int_equal(attr_int(&r->attrs, "n"), 42);
    assert_true(attr_bool(&r->attrs, "ok"));

    static const uint8_t zero[16];
    r = log_at(f, 1);
    assert_int_equal(r->severity, OSPREY_DEBUG);
    assert_string_equal(r->body, "no context");
    assert_memory_equal(r->trace_id, zero, 16);
    assert_memory_equal(r->span_id, zero, 8);
    assert_int_equal(r->attrs.n, 0);

    osprey_stats st;
    osprey_get_stats(f->p, &st);
    assert_int_equal(st.logs_emitted, 2);
}

static void test_log_explicit_context(void **state)
{
    fixture *f = *state;
    osprey_logger *l = osprey_logger_get(f->p, "explicit", OSPREY_INFO);
    osprey_scope s = osprey_attach(&ctx_a);
    osprey_log_ctx(l, OSPREY_WARN, &ctx_b, "gen_ai.evaluation.result", "scored", NULL, 0);
    osprey_detach(s);

    assert_int_equal(flush_logs(f), 1);
    osprey__log_record *r = log_at(f, 0);
    assert_memory_equal(r->trace_id, ctx_b.trace_id, 16);
    assert_memory_equal(r->span_id, ctx_b.span_id, 8);
    assert_int_equal(r->flags, 0);
    assert_string_equal(r->event_name, "gen_ai.evaluation.result");
    assert_string_equal(r->body, "scored");
}

static void test_min_severity_and_logf(void **state)
{
    fixture *f = *state;
    osprey_logger *l = osprey_logger_get(f->p, "min", OSPREY_WARN);
    osprey_log(l, OSPREY_INFO, "dropped", NULL, 0);
    osprey_logf(l, OSPREY_DEBUG, "dropped %d", 1);
    osprey_log(l, OSPREY_WARN, "kept", NULL, 0);
    osprey_logf(l, OSPREY_ERROR, "%s=%d", "answer", 42);

    assert_int_equal(flush_logs(f), 2);
    assert_int_equal(log_at(f, 0)->severity, OSPREY_WARN);
    assert_string_equal(log_at(f, 0)->body, "kept");
    assert_int_equal(log_at(f, 1)->severity, OSPREY_ERROR);
    assert_string_equal(log_at(f, 1)->body, "answer=42");
    osprey_stats st;
    osprey_get_stats(f->p, &st);
    assert_int_equal(st.logs_emitted, 2);
    assert_int_equal(st.logs_dropped, 0);
}

/* Runs a log call with stderr redirected to a file and returns what it wrote (malloc'd). */
static char *capture_stderr(osprey_logger *l, const osprey_attr *attrs, size_t n)
{
    char path[] = "/tmp/osprey-logs-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
    osprey_scope s = osprey_attach(&ctx_a);
    osprey_log(l, OSPREY_WARN, "say \"hi\"\n", attrs, n);
    osprey_detach(s);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    assert_true(size > 0);
    char *text = calloc(1, (size_t)size + 1);
    assert_int_equal(pread(fd, text, (size_t)size, 0), size);
    close(fd);
    return text;
}

/* The JSON line's members as (key, value text) pairs; values of strings unescaped. */
typedef struct member {
    char key[32], value[128];
    osp_json_type type;
} member;

static size_t parse_line(const char *line, size_t len, member *m, size_t cap)
{
    osp_buf scratch;
    osp_buf_init(&scratch, 4096);
    osp_json_reader r;
    osp_json_reader_init(&r, osp_str_make(line, len), &scratch);
    osp_json_token t;
    size_t n = 0;
    assert_int_equal(osp_json_next(&r, &t), 1);
    assert_int_equal(t.type, OSP_JSON_OBJECT_BEGIN);
    for (;;) {
        assert_int_equal(osp_json_next(&r, &t), 1);
        if (t.type == OSP_JSON_OBJECT_END)
            break;
        assert_int_equal(t.type, OSP_JSON_KEY);
        assert_true(n < cap && t.s.n < sizeof m[n].key);
        snprintf(m[n].key, sizeof m[n].key, "%.*s", OSP_STR_FMT(t.s));
        assert_int_equal(osp_json_next(&r, &t), 1);
        assert_true(t.s.n < sizeof m[n].value);
        m[n].type = t.type;
        snprintf(m[n].value, sizeof m[n].value, "%.*s", OSP_STR_FMT(t.s));
        n++;
    }
    assert_int_equal(osp_json_next(&r, &t), 0);
    osp_buf_cleanup(&scratch);
    return n;
}

static void test_stderr_json_line(void **state)
{
    fixture *f = *state;
    f->p->config.log_to_stderr = true;
    osprey_logger *l = osprey_logger_get(f->p, "json", OSPREY_INFO);
    osprey_attr attrs[] = {OSPREY_STR("user", "bob"), OSPREY_INT("n", 7)};
    /* CLOCK_REALTIME, as the SDK stamps records: time() may read a coarser clock that lags
     * it by a tick, and so fall a second behind a record's time */
    time_t before = (time_t)(osp_clock_ns(CLOCK_REALTIME) / 1000000000u);
    char *text = capture_stderr(l, attrs, 2);
    time_t after = (time_t)(osp_clock_ns(CLOCK_REALTIME) / 1000000000u);
    f->p->config.log_to_stderr = false;

    size_t len = strlen(text);
    assert_true(len > 2 && text[len - 1] == '\n');
    assert_null(memchr(text, '\n', len - 1)); /* one line */
    member m[16];
    size_t n = parse_line(text, len - 1, m, 16);
    assert_int_equal(n, 8);
    const char *want[][2] = {{"time", NULL},
                             {"level", "WARN"},
                             {"msg", "say \"hi\"\n"},
                             {"trace_id", "0102030405060708090a0b0c0d0e0f10"},
                             {"span_id", "a1a2a3a4a5a6a7a8"},
                             {"logger", "json"},
                             {"user", "bob"},
                             {"n", "7"}};
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(m[i].key, want[i][0]);
        if (want[i][1])
            assert_string_equal(m[i].value, want[i][1]);
    }
    assert_int_equal(m[7].type, OSP_JSON_NUMBER);
    struct tm tm = {0};
    int ms = -1;
    char z = 0;
    assert_int_equal(sscanf(m[0].value, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &z),
                     8);
    assert_int_equal(strlen(m[0].value), 24);
    assert_int_equal(z, 'Z');
    assert_true(ms >= 0 && ms <= 999);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    assert_true(t >= before && t <= after);
    free(text);
    assert_int_equal(flush_logs(f), 1); /* the record still went to the pipeline */
}

/* ---- Encoding ---------------------------------------------------------------------------- */

/* A record of l built by hand. */
static osprey__log_record *make_record(osprey_logger *l, osprey_severity sev, const char *body,
                                       const osprey_span_context *ctx, const char *event)
{
    osprey__log_record *r = osp_calloc(1, sizeof *r);
    assert_non_null(r);
    r->logger = l;
    r->time_ns = 1700000000123456789ull + (uint64_t)sev;
    r->observed_ns = r->time_ns + 1000;
    r->severity = sev;
    r->body = body ? osp_strdup(body) : NULL;
    r->event_name = event ? osp_strdup(event) : NULL;
    if (ctx) {
        memcpy(r->trace_id, ctx->trace_id, 16);
        memcpy(r->span_id, ctx->span_id, 8);
        r->flags = ctx->trace_flags;
    }
    osprey_attr a[] = {OSPREY_STR("k", body ? body : "none"), OSPREY_INT("sev", sev)};
    assert_int_equal(osprey__attrs_set(&r->attrs, a, 2, 1), 0); /* limit 1: one dropped */
    return r;
}

/* Reads the next field of r, which must be num with wire type wire. */
static osp_pb_field next_field(osp_pb_reader *r, uint32_t num, int wire)
{
    osp_pb_field f;
    assert_int_equal(osp_pb_next(r, &f), 1);
    assert_int_equal(f.num, num);
    assert_int_equal(f.wire, wire);
    return f;
}

static osp_pb_reader sub(osp_pb_field f)
{
    return osp_pb_reader_make(f.bytes.p, f.bytes.n);
}

/* Checks a KeyValue message: key and its string or int value. */
static void check_kv(osp_pb_field kvf, const char *key, const char *s, int64_t i)
{
    osp_pb_reader kv = sub(kvf);
    assert_true(osp_str_eqz(next_field(&kv, 1, OSP_PB_LEN).bytes, key));
    osp_pb_reader any = sub(next_field(&kv, 2, OSP_PB_LEN));
    if (s)
        assert_true(osp_str_eqz(next_field(&any, 1, OSP_PB_LEN).bytes, s));
    else
        assert_int_equal((int64_t)next_field(&any, 3, OSP_PB_VARINT).u64, i);
    osp_pb_field f;
    assert_int_equal(osp_pb_next(&any, &f), 0);
    assert_int_equal(osp_pb_next(&kv, &f), 0);
}

/* Decodes one LogRecord and checks every field against want. */
static void check_record(osp_pb_field lrf, const osprey__log_record *want)
{
    static const uint8_t zero[16];
    osp_pb_reader lr = sub(lrf);
    assert_int_equal(next_field(&lr, 1, OSP_PB_I64).u64, want->time_ns);
    assert_int_equal(next_field(&lr, 2, OSP_PB_VARINT).u64, want->severity);
    const char *text = want->severity == OSPREY_ERROR ? "ERROR" : "INFO";
    assert_true(osp_str_eqz(next_field(&lr, 3, OSP_PB_LEN).bytes, text));
    if (want->body) {
        osp_pb_reader body = sub(next_field(&lr, 5, OSP_PB_LEN));
        assert_true(osp_str_eqz(next_field(&body, 1, OSP_PB_LEN).bytes, want->body));
    }
    check_kv(next_field(&lr, 6, OSP_PB_LEN), "k", want->body ? want->body : "none", 0);
    assert_int_equal(next_field(&lr, 7, OSP_PB_VARINT).u64, 1);
    if (memcmp(want->trace_id, zero, 16) != 0) {
        assert_int_equal(next_field(&lr, 8, OSP_PB_I32).u64, want->flags);
        osp_pb_field id = next_field(&lr, 9, OSP_PB_LEN);
        assert_int_equal(id.bytes.n, 16);
        assert_memory_equal(id.bytes.p, want->trace_id, 16);
        id = next_field(&lr, 10, OSP_PB_LEN);
        assert_int_equal(id.bytes.n, 8);
        assert_memory_equal(id.bytes.p, want->span_id, 8);
    }
    assert_int_equal(next_field(&lr, 11, OSP_PB_I64).u64, want->observed_ns);
    if (want->event_name)
        assert_true(osp_str_eqz(next_field(&lr, 12, OSP_PB_LEN).bytes, want->event_name));
    osp_pb_field f;
    assert_int_equal(osp_pb_next(&lr, &f), 0);
}

/* Decodes a ScopeLogs: the scope name, then the records of recs[idx[0..n)]. */
static void check_scope(osp_pb_field slf, const char *name, osprey__log_record *const *recs,
                        const size_t *idx, size_t n)
{
    osp_pb_reader sl = sub(slf);
    osp_pb_reader scope = sub(next_field(&sl, 1, OSP_PB_LEN));
    assert_true(osp_str_eqz(next_field(&scope, 1, OSP_PB_LEN).bytes, name));
    osp_pb_field f;
    assert_int_equal(osp_pb_next(&scope, &f), 0);
    for (size_t i = 0; i < n; i++)
        check_record(next_field(&sl, 2, OSP_PB_LEN), recs[idx[i]]);
    assert_int_equal(osp_pb_next(&sl, &f), 0);
}

static void test_encode_logs(void **state)
{
    fixture *f = *state;
    osprey_logger *la = osprey_logger_get(f->p, "enc.a", OSPREY_TRACE);
    osprey_logger *lb = osprey_logger_get(f->p, "enc.b", OSPREY_TRACE);
    osprey__log_record *recs[] = {
        make_record(la, OSPREY_INFO, "first", &ctx_a, NULL),
        make_record(lb, OSPREY_ERROR, "second", &ctx_b, "app.failure"),
        make_record(la, OSPREY_INFO, NULL, NULL, NULL),
    };
    osprey__attrs resource = {0};
    osprey_attr ra = OSPREY_STR("service.name", "enc-test");
    assert_int_equal(osprey__attrs_set(&resource, &ra, 1, 0), 0);
    osp_buf out;
    osp_buf_init(&out, 0);
    assert_int_equal(osp_buf_puts(&out, "pre"), 0); /* appends after what is there */
    assert_int_equal(osprey__encode_logs(&out, &resource, recs, 3), 0);

    osp_pb_reader req = osp_pb_reader_make(out.data + 3, out.len - 3);
    osp_pb_reader rl = sub(next_field(&req, 1, OSP_PB_LEN));
    osp_pb_field fld;
    assert_int_equal(osp_pb_next(&req, &fld), 0);
    osp_pb_reader res = sub(next_field(&rl, 1, OSP_PB_LEN));
    check_kv(next_field(&res, 1, OSP_PB_LEN), "service.name", "enc-test", 0);
    assert_int_equal(osp_pb_next(&res, &fld), 0);
    check_scope(next_field(&rl, 2, OSP_PB_LEN), "enc.a", recs, (size_t[]){0, 2}, 2);
    check_scope(next_field(&rl, 2, OSP_PB_LEN), "enc.b", recs, (size_t[]){1}, 1);
    assert_int_equal(osp_pb_next(&rl, &fld), 0);

    osp_buf_cleanup(&out);
    osprey__attrs_cleanup(&resource);
    for (size_t i = 0; i < 3; i++)
        osprey__log_record_free(recs[i]);
}

static void test_out_of_memory(void **state)
{
    fixture *f = *state;
    osprey_logger *l = osprey_logger_get(f->p, "oom", OSPREY_INFO);
    osprey_attr a = OSPREY_STR("k", "v");
    for (unsigned long n = 1; n <= 3; n++) { /* the record, its body, its attributes */
        osp_mem_fail_after(n);
        osprey_log(l, OSPREY_INFO, "body", &a, 1);
    }
    osp_mem_fail_after(0);
    osprey_stats st;
    osprey_get_stats(f->p, &st);
    assert_int_equal(st.logs_dropped, 3);
    assert_int_equal(st.logs_emitted, 0);
    assert_int_equal(flush_logs(f), 0);
}

static void test_null_safety(void **state)
{
    (void)state;
    osprey_log(NULL, OSPREY_FATAL, "x", NULL, 0);
    osprey_logf(NULL, OSPREY_FATAL, "x");
    osprey_log_ctx(NULL, OSPREY_FATAL, NULL, NULL, "x", NULL, 0);
    osprey__log_record_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_logger_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_current_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_explicit_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_min_severity_and_logf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stderr_json_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
        cmocka_unit_test(test_null_safety),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
