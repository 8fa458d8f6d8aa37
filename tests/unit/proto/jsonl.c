/* Unit tests for proto/jsonl: every alias of every mapped field, time formats, bodies of
 * every JSON type, severities, ids, resources, attributes, the array form, line handling,
 * and rejected lines with the others kept. */
#include "testutil.h"

#include "core/buf.h"
#include "core/err.h"
#include "model/attr.h"
#include "proto/jsonl.h"

/* ---- helpers ---- */

typedef struct fx {
    osp_log_batch b;
    osp_jsonl_report rep;
} fx;

static fx the_fx;

static int fx_setup(void **state)
{
    osp_log_batch_init(&the_fx.b);
    *state = &the_fx;
    return 0;
}

static int fx_teardown(void **state)
{
    osp_log_batch_cleanup(&((fx *)*state)->b);
    return 0;
}

/* Decodes n bytes of text into a fresh f->b from a heap copy of exactly those bytes, which
 * is overwritten afterwards: rows must not point into the body. */
static int decode_n(fx *f, const char *text, size_t n)
{
    osp_log_batch_cleanup(&f->b);
    osp_log_batch_init(&f->b);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, text, n);
    int rc = osp_jsonl_logs_decode(osp_str_make(copy, n), &f->b, &f->rep);
    memset(copy, 'X', n);
    free(copy);
    return rc;
}

static int decode(fx *f, const char *text)
{
    return decode_n(f, text, strlen(text));
}

/* Decodes text that must give one record and no rejection; returns the record. */
static const osp_log_record *one(fx *f, const char *text)
{
    int rc = decode(f, text);
    if (rc != 0 || f->b.nrecords != 1 || f->rep.rejected != 0)
        fail_msg("%s: rc %d, %zu records, %lld rejected: %s", text, rc, f->b.nrecords,
                 (long long)f->rep.rejected, f->rep.message);
    return &f->b.records[0];
}

/* Decodes text that must be rejected whole with message want; returns nothing kept. */
static void rejected(fx *f, const char *text, const char *want)
{
    int rc = decode(f, text);
    if (rc != 0 || f->b.nrecords != 0 || f->rep.rejected != 1 || strcmp(f->rep.message, want))
        fail_msg("%s: rc %d, %zu records, %lld rejected, message \"%s\", want \"%s\"", text, rc,
                 f->b.nrecords, (long long)f->rep.rejected, f->rep.message, want);
}

/* A value as text (osp_value_to_text: nested values as compact JSON). */
static const char *value_text(const osp_value *v, char *out, size_t cap)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osp_value_to_text(v, &b), 0);
    snprintf(out, cap, "%.*s", (int)b.len, b.data ? b.data : "");
    osp_buf_cleanup(&b);
    return out;
}

/* An attrs blob as "k=v,k=v" with values as text. */
static const char *attrs_text(osp_str blob)
{
    static char out[2048];
    osp_buf b;
    osp_attr_iter it;
    osp_str k;
    osp_value v;
    int rc;
    osp_buf_init(&b, 0);
    osp_attr_iter_init(&it, blob);
    while ((rc = osp_attr_next(&it, &k, &v)) == 1) {
        assert_int_equal(osp_buf_printf(&b, "%s%.*s=", b.len ? "," : "", OSP_STR_FMT(k)), 0);
        assert_int_equal(osp_value_to_text(&v, &b), 0);
    }
    assert_int_equal(rc, 0);
    snprintf(out, sizeof out, "%.*s", (int)b.len, b.data ? b.data : "");
    osp_buf_cleanup(&b);
    return out;
}

/* Record i's body: its type and text. */
static const char *body_text(const osp_log_batch *b, size_t i, osp_value_type *type)
{
    static char out[1024];
    osp_value v;
    assert_true(b->records[i].has_body);
    assert_int_equal(osp_value_decode(b->records[i].body, &v), 0);
    *type = v.type;
    return value_text(&v, out, sizeof out);
}

static const char *res_text(const osp_log_batch *b, size_t i)
{
    return attrs_text(b->resources[b->records[i].resource].attributes);
}

static void assert_str(osp_str s, const char *z)
{
    if (!osp_str_eqz(s, z))
        fail_msg("got \"%.*s\", want \"%s\"", OSP_STR_FMT(s), z);
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* {"a":[[..]]} with levels arrays. */
static void nest(char *out, int levels)
{
    size_t n = (size_t)sprintf(out, "{\"a\":");
    memset(out + n, '[', (size_t)levels);
    memset(out + n + (size_t)levels, ']', (size_t)levels);
    strcpy(out + n + 2 * (size_t)levels, "}");
}

/* ---- tests ---- */

static void test_full_record(void **state)
{
    fx *f = *state;
    osp_value_type type;
    const osp_log_record *r =
        one(f, "{\"timestamp\":\"2024-05-01T12:00:00.5Z\",\"level\":\"WARN\",\"message\":\"disk "
               "low\",\"trace_id\":\"0102030405060708090A0b0c0d0e0f10\",\"span_id\":"
               "\"a1a2a3a4a5a6a7a8\",\"trace_flags\":\"01\",\"service\":\"api\",\"event_name\":"
               "\"disk.low\",\"free\":12.5,\"host\":\"h1\"}");
    assert_true(r->time_ns == 1714564800500000000ull);
    assert_str(r->severity_text, "WARN");
    assert_int_equal(r->severity_number, OSP_SEVERITY_WARN);
    assert_string_equal(body_text(&f->b, 0, &type), "disk low");
    assert_int_equal(type, OSP_VAL_STRING);
    assert_int_equal(r->trace_id[0], 1);
    assert_int_equal(r->trace_id[10], 0x0b);
    assert_int_equal(r->span_id[7], 0xa8);
    assert_int_equal(r->flags, 1);
    assert_str(r->event_name, "disk.low");
    assert_string_equal(attrs_text(r->attributes), "free=12.5,host=h1");
    assert_string_equal(res_text(&f->b, 0), "service.name=api");
    assert_str(f->b.resources[0].service_name, "api");
    assert_int_equal(f->b.nscopes, 1);
    const osp_scope *sc = &f->b.scopes[r->scope];
    assert_true(sc->name.n == 0 && sc->version.n == 0 && sc->attributes.n == 0);
    assert_true(r->observed_ns == 0 && r->dropped_attributes == 0);
    assert_string_equal(f->rep.message, "");
}

/* Every alias of every field, each alone on a line. */
static void test_every_alias(void **state)
{
    fx *f = *state;
    osp_value_type type;
    static const char *const times[] = {"timestamp", "time", "ts", "@timestamp", "date"};
    static const char *const bodies[] = {"message", "msg", "log", "body", "text"};
    static const char *const levels[] = {"level", "severity", "lvl", "loglevel", "severity_text"};
    static const char *const sevnums[] = {"severity_number", "severityNumber"};
    static const char *const traces[] = {"trace_id", "traceId", "traceid"};
    static const char *const spans[] = {"span_id", "spanId", "spanid"};
    static const char *const flags[] = {"trace_flags", "flags"};
    static const char *const services[] = {"service.name", "service_name", "service", "app",
                                           "application"};
    static const char *const events[] = {"event_name", "event.name"};
    char line[256];
    const osp_log_record *r;
#define EACH(list) for (size_t i = 0; i < sizeof list / sizeof list[0]; i++)
    EACH(times)
    {
        snprintf(line, sizeof line, "{\"%s\":1700000000}", times[i]);
        assert_true(one(f, line)->time_ns == 1700000000000000000ull);
    }
    EACH(bodies)
    {
        snprintf(line, sizeof line, "{\"%s\":\"hello\"}", bodies[i]);
        one(f, line);
        assert_string_equal(body_text(&f->b, 0, &type), "hello");
    }
    EACH(levels)
    {
        snprintf(line, sizeof line, "{\"%s\":\"error\"}", levels[i]);
        r = one(f, line);
        assert_str(r->severity_text, "error");
        assert_int_equal(r->severity_number, OSP_SEVERITY_ERROR);
    }
    EACH(sevnums)
    {
        snprintf(line, sizeof line, "{\"%s\":14}", sevnums[i]);
        assert_int_equal(one(f, line)->severity_number, 14);
    }
    EACH(traces)
    {
        snprintf(line, sizeof line, "{\"%s\":\"000000000000000000000000000000ff\"}", traces[i]);
        assert_int_equal(one(f, line)->trace_id[15], 0xff);
    }
    EACH(spans)
    {
        snprintf(line, sizeof line, "{\"%s\":\"00000000000000fe\"}", spans[i]);
        assert_int_equal(one(f, line)->span_id[7], 0xfe);
    }
    EACH(flags)
    {
        snprintf(line, sizeof line, "{\"%s\":1}", flags[i]);
        assert_int_equal(one(f, line)->flags, 1);
    }
    EACH(services)
    {
        snprintf(line, sizeof line, "{\"%s\":\"svc\"}", services[i]);
        r = one(f, line);
        assert_string_equal(res_text(&f->b, 0), "service.name=svc");
        assert_string_equal(attrs_text(r->attributes), "");
    }
    EACH(events)
    {
        snprintf(line, sizeof line, "{\"%s\":\"ev\"}", events[i]);
        assert_str(one(f, line)->event_name, "ev");
    }
#undef EACH
}

/* The first alias in the documented order wins whatever the member order; the others stay
 * attributes, in their place. */
static void test_alias_order(void **state)
{
    fx *f = *state;
    osp_value_type type;
    const osp_log_record *r =
        one(f, "{\"time\":2,\"msg\":\"m\",\"timestamp\":1,\"level\":\"info\",\"message\":\"x\","
               "\"severity\":\"error\",\"app\":\"a\",\"service\":\"s\"}");
    assert_true(r->time_ns == 1000000000ull);
    assert_string_equal(body_text(&f->b, 0, &type), "x");
    assert_int_equal(r->severity_number, OSP_SEVERITY_INFO);
    assert_string_equal(attrs_text(r->attributes), "time=2,msg=m,severity=error,app=a");
    assert_string_equal(res_text(&f->b, 0), "service.name=s");
}

static void test_times(void **state)
{
    fx *f = *state;
    static const struct {
        const char *value;
        uint64_t ns;
    } good[] = {
        {"\"2024-05-01T12:00:00Z\"", 1714564800000000000ull},
        {"\"2024-05-01t12:00:00z\"", 1714564800000000000ull},
        {"\"2024-05-01 12:00:00Z\"", 1714564800000000000ull},
        {"\"2024-05-01T12:00:00.123Z\"", 1714564800123000000ull},
        {"\"2024-05-01T12:00:00.123456789Z\"", 1714564800123456789ull},
        {"\"2024-05-01T12:00:00.1234567891Z\"", 1714564800123456789ull},
        {"\"2024-05-01T14:00:00+02:00\"", 1714564800000000000ull},
        {"\"2024-05-01T09:30:00.25-02:30\"", 1714564800250000000ull},
        {"1714564800", 1714564800000000000ull},           /* seconds */
        {"1714564800.5", 1714564800500000000ull},         /* float seconds */
        {"1714564800.123456789", 1714564800123456789ull}, /* exact */
        {"1714564800123", 1714564800123000000ull},        /* milliseconds */
        {"1714564800123.5", 1714564800123500000ull},
        {"1714564800123456", 1714564800123456000ull},    /* microseconds */
        {"1714564800123456789", 1714564800123456789ull}, /* nanoseconds */
        {"1.7145648e9", 1714564800000000000ull},
        {"0", 0},
        {"18446744073", 18446744073000000000ull},      /* largest seconds that fit */
        {"100000000000", 100000000000000000ull},       /* smallest milliseconds */
        {"100000000000000", 100000000000000000ull},    /* smallest microseconds */
        {"100000000000000000", 100000000000000000ull}, /* smallest nanoseconds */
        {"\"1714564800\"", 1714564800000000000ull},
        {"\"1714564800.25\"", 1714564800250000000ull},
        {"\"1714564800123\"", 1714564800123000000ull},
        {"\"1714564800123456\"", 1714564800123456000ull},
        {"\"1714564800123456789\"", 1714564800123456789ull},
        {"null", 0},
    };
    char line[256];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(line, sizeof line, "{\"ts\":%s}", good[i].value);
        const osp_log_record *r = one(f, line);
        if (r->time_ns != good[i].ns)
            fail_msg("%s: got %llu, want %llu", line, (unsigned long long)r->time_ns,
                     (unsigned long long)good[i].ns);
    }
    assert_true(one(f, "{\"msg\":\"no time\"}")->time_ns == 0);

    static const struct {
        const char *line, *want;
    } bad[] = {
        {"{\"ts\":\"yesterday\"}",
         "line 1: ts \"yesterday\" is not an RFC 3339 time or a number at offset 6"},
        {"{\"ts\":\"2024-05-01T12:00:00\"}",
         "line 1: ts \"2024-05-01T12:00:00\" is not an RFC 3339 time or a number at offset 6"},
        {"{\"ts\":\"2024-13-01T12:00:00Z\"}",
         "line 1: ts \"2024-13-01T12:00:00Z\" is not an RFC 3339 time or a number at offset 6"},
        {"{\"ts\":\"\"}", "line 1: ts \"\" is not an RFC 3339 time or a number at offset 6"},
        {"{\"ts\":-5}", "line 1: ts -5 is negative at offset 6"},
        {"{\"ts\":\"-1.5\"}", "line 1: ts -1.5 is negative at offset 6"},
        {"{\"ts\":1e999}", "line 1: ts 1e999 is past the largest time at offset 6"},
        {"{\"ts\":18446744074}", "line 1: ts 18446744074 is past the largest time at offset 6"},
        {"{\"ts\":99999999999999999999}",
         "line 1: ts 99999999999999999999 is past the largest time at offset 6"},
        {"{\"time\":true}", "line 1: time must be a string or a number, not a boolean at offset 8"},
        {"{\"date\":{}}", "line 1: date must be a string or a number, not an object at offset 8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        rejected(f, bad[i].line, bad[i].want);
}

static void test_body_types(void **state)
{
    fx *f = *state;
    static const struct {
        const char *value, *text;
        osp_value_type type;
    } cases[] = {
        {"\"hi \\u00e9\\n\"", "hi \xc3\xa9\n", OSP_VAL_STRING},
        {"\"\"", "", OSP_VAL_STRING},
        {"42", "42", OSP_VAL_INT},
        {"-9223372036854775808", "-9223372036854775808", OSP_VAL_INT},
        {"9223372036854775808", "9.223372036854776e+18", OSP_VAL_DOUBLE},
        {"1.5", "1.5", OSP_VAL_DOUBLE},
        {"1e3", "1000", OSP_VAL_DOUBLE},
        {"true", "true", OSP_VAL_BOOL},
        {"false", "false", OSP_VAL_BOOL},
        {"{\"a\":1,\"b\":{\"c\":[1,\"x\",null]}}", "{\"a\":1,\"b\":{\"c\":[1,\"x\",null]}}",
         OSP_VAL_KVLIST},
        {"[1,2.5,\"s\",true,[],{}]", "[1,2.5,\"s\",true,[],{}]", OSP_VAL_ARRAY},
    };
    char line[256];
    osp_value_type type;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(line, sizeof line, "{\"message\":%s}", cases[i].value);
        one(f, line);
        const char *got = body_text(&f->b, 0, &type);
        if (strcmp(got, cases[i].text) || type != cases[i].type)
            fail_msg("%s: got %s (type %d)", line, got, type);
    }
    assert_false(one(f, "{\"message\":null}")->has_body);
    assert_false(one(f, "{\"level\":\"info\"}")->has_body);
    rejected(f, "{\"message\":1e400}", "line 1: number 1e400 is out of range at offset 11");
}

static void test_severity(void **state)
{
    fx *f = *state;
    static const struct {
        const char *value;
        int32_t number;
    } cases[] = {
        {"\"trace\"", 1},
        {"\"TRACE\"", 1},
        {"\"debug\"", 5},
        {"\"Debug\"", 5},
        {"\"info\"", 9},
        {"\"information\"", 9},
        {"\"NOTICE\"", 9},
        {"\"warn\"", 13},
        {"\"warning\"", 13},
        {"\"error\"", 17},
        {"\"ERR\"", 17},
        {"\"fatal\"", 21},
        {"\"critical\"", 21},
        {"\"crit\"", 21},
        {"\"panic\"", 21},
        {"\"emerg\"", 21},
        {"\"emergency\"", 21},
        {"\"alert\"", 21},
        {"\"verbose\"", 0},
        {"\"\"", 0},
        {"10", 1},
        {"20", 5},
        {"30", 9},
        {"40", 13},
        {"50", 17},
        {"60", 21},
        {"35", 0},
        {"3", 0},
    };
    char line[128];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(line, sizeof line, "{\"level\":%s}", cases[i].value);
        const osp_log_record *r = one(f, line);
        if (r->severity_number != cases[i].number)
            fail_msg("%s: got %d", line, r->severity_number);
        char text[32];
        snprintf(text, sizeof text, "%.*s", (int)strlen(cases[i].value) - 2 * (line[9] == '"'),
                 cases[i].value + (line[9] == '"'));
        assert_str(r->severity_text, text);
    }
    /* an explicit number wins over the name, wherever it is */
    const osp_log_record *r = one(f, "{\"severity_number\":\"10\",\"level\":\"error\"}");
    assert_int_equal(r->severity_number, 10);
    assert_str(r->severity_text, "error");
    assert_int_equal(one(f, "{\"severityNumber\":24}")->severity_number, 24);
    rejected(f, "{\"severity_number\":0}",
             "line 1: severity_number 0 is not a severity number from 1 to 24 at offset 19");
    rejected(f, "{\"severity_number\":\"25\"}",
             "line 1: severity_number \"25\" is not a severity number from 1 to 24 at offset 19");
    rejected(f, "{\"severity_number\":9.5}",
             "line 1: severity_number 9.5 is not a severity number from 1 to 24 at offset 19");
    rejected(f, "{\"severityNumber\":[]}",
             "line 1: severityNumber must be a number from 1 to 24, not an array at offset 18");
    rejected(f, "{\"level\":true}",
             "line 1: level must be a string or a number, not a boolean at offset 9");
}

static void test_ids(void **state)
{
    fx *f = *state;
    const osp_log_record *r = one(f, "{\"traceId\":\"00000000000000000000000000000000\",\"spanId\":"
                                     "\"0000000000000000\",\"flags\":\"ff\"}");
    assert_true(all_zero(r->trace_id, 16) && all_zero(r->span_id, 8)); /* zero is absent */
    assert_int_equal(r->flags, 255);
    r = one(f, "{\"trace_id\":\"4BF92F3577B34DA6A3CE929D0E0E4736\",\"span_id\":null}");
    assert_int_equal(r->trace_id[0], 0x4b);
    assert_true(all_zero(r->span_id, 8));
    assert_int_equal(one(f, "{\"trace_flags\":0}")->flags, 0);
    static const struct {
        const char *line, *want;
    } bad[] = {
        {"{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e473\"}",
         "line 1: trace_id \"4bf92f3577b34da6a3ce929d0e0e473\" is not 32 hex digits at offset 12"},
        {"{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e473g\"}",
         "line 1: trace_id \"4bf92f3577b34da6a3ce929d0e0e473g\" is not 32 hex digits at offset 12"},
        {"{\"traceid\":12}", "line 1: traceid must be a string of 32 hex digits, not a number at "
                             "offset 11"},
        {"{\"span_id\":\"00f067aa0ba902b\"}",
         "line 1: span_id \"00f067aa0ba902b\" is not 16 hex digits at offset 11"},
        {"{\"spanid\":\"00f067aa0ba902b7aa\"}",
         "line 1: spanid \"00f067aa0ba902b7aa\" is not 16 hex digits at offset 10"},
        {"{\"trace_flags\":256}",
         "line 1: trace_flags 256 is not a number from 0 to 255 or two hex digits at offset 15"},
        {"{\"trace_flags\":\"1\"}",
         "line 1: trace_flags \"1\" is not a number from 0 to 255 or two hex digits at offset 15"},
        {"{\"flags\":{}}", "line 1: flags must be a number or a string, not an object at offset 9"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        rejected(f, bad[i].line, bad[i].want);
}

static void test_resources(void **state)
{
    fx *f = *state;
    assert_int_equal(decode(f, "{\"msg\":\"1\",\"service\":\"a\"}\n"
                               "{\"msg\":\"2\"}\n"
                               "{\"msg\":\"3\",\"app\":\"b\"}\n"
                               "{\"msg\":\"4\",\"service_name\":\"a\"}\n"
                               "{\"msg\":\"5\",\"service\":\"\"}\n"
                               "{\"msg\":\"6\",\"resource\":{\"host.name\":\"h\",\"n\":1}}\n"
                               "{\"msg\":\"7\",\"service\":\"a\",\"resource\":{\"host.name\":"
                               "\"h\",\"n\":1}}\n"
                               "{\"msg\":\"8\",\"resource\":{\"service.name\":\"c\",\"k\":[1]},"
                               "\"service\":\"a\"}\n"
                               "{\"msg\":\"9\",\"resource\":null}\n"),
                     0);
    const osp_log_batch *b = &f->b;
    assert_int_equal(b->nrecords, 9);
    assert_int_equal(b->nresources, 6);
    assert_int_equal(b->nscopes, 1);
    assert_string_equal(res_text(b, 0), "service.name=a");
    assert_string_equal(res_text(b, 1), "");
    assert_string_equal(res_text(b, 2), "service.name=b");
    assert_int_equal(b->records[3].resource, b->records[0].resource);
    assert_int_equal(b->records[4].resource, b->records[1].resource);
    assert_string_equal(res_text(b, 5), "host.name=h,n=1");
    assert_string_equal(res_text(b, 6), "service.name=a,host.name=h,n=1");
    assert_str(b->resources[b->records[6].resource].service_name, "a");
    /* the resource object's service.name wins; the top-level one stays an attribute */
    assert_string_equal(res_text(b, 7), "service.name=c,k=[1]");
    assert_str(b->resources[b->records[7].resource].service_name, "c");
    assert_string_equal(attrs_text(b->records[7].attributes), "service=a");
    assert_int_equal(b->records[8].resource, b->records[1].resource);
    assert_str(b->resources[b->records[1].resource].service_name, "");
    for (size_t i = 0; i < b->nrecords; i++)
        assert_int_equal(b->records[i].scope, 0);
    rejected(f, "{\"resource\":\"x\"}",
             "line 1: resource must be an object, not a string at offset 12");
    rejected(f, "{\"service\":5}", "line 1: service must be a string, not a number at offset 11");
    rejected(f, "{\"event_name\":[]}",
             "line 1: event_name must be a string, not an array at offset 14");

    /* many services: one resource each */
    osp_buf text;
    osp_buf_init(&text, 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(osp_buf_printf(&text, "{\"service\":\"s%d\"}\n{\"app\":\"s%d\"}\n", i, i),
                         0);
    assert_int_equal(decode_n(f, text.data, text.len), 0);
    osp_buf_cleanup(&text);
    assert_int_equal(f->b.nrecords, 600);
    assert_int_equal(f->b.nresources, 300);
    for (size_t i = 0; i < 600; i += 2)
        assert_int_equal(f->b.records[i].resource, f->b.records[i + 1].resource);
}

static void test_attributes(void **state)
{
    fx *f = *state;
    const osp_log_record *r =
        one(f, "{\"z\":1,\"a\":\"s\",\"n\":null,\"http\":{\"method\":\"GET\",\"status\":200},"
               "\"tags\":[\"x\",2],\"ok\":false,\"pi\":3.25,\"esc\\u0041ped\":\"v\\\"q\"}");
    assert_string_equal(attrs_text(r->attributes),
                        "z=1,a=s,n=,http={\"method\":\"GET\",\"status\":200},tags=[\"x\",2],"
                        "ok=false,pi=3.25,escAped=v\"q");
    osp_value v;
    assert_int_equal(osp_attr_find(r->attributes, OSP_STR_LIT("http"), &v), 1);
    assert_int_equal(v.type, OSP_VAL_KVLIST); /* nested objects are kept, not flattened */
    assert_int_equal(osp_attr_find(r->attributes, OSP_STR_LIT("n"), &v), 1);
    assert_int_equal(v.type, OSP_VAL_EMPTY);
    assert_string_equal(attrs_text(one(f, "{}")->attributes), "");
    /* nesting up to OSP_MAX_ANYVALUE_DEPTH (32) levels, then one more */
    char deep[128];
    nest(deep, 32);
    one(f, deep);
    nest(deep, 33);
    rejected(f, deep, "line 1: value nested deeper than 32 levels at offset 37");
}

static void test_duplicates(void **state)
{
    fx *f = *state;
    rejected(f, "{\"a\":1,\"b\":2,\"a\":3}",
             "line 1: duplicate member \"a\" in the object at offset 0");
    rejected(f, "{\"msg\":1,\"x\":{\"k\":1,\"k\":2}}",
             "line 1: duplicate member \"k\" in the object at offset 13");
    rejected(f, "{\"a\":1,\"\\u0061\":2}",
             "line 1: duplicate member \"a\" in the object at offset 0");
    rejected(f, "{\"time\":1,\"time\":2}",
             "line 1: duplicate member \"time\" in the object at offset 0");
    /* the same name in sibling objects, and aliases of one field, are not duplicates */
    one(f, "{\"a\":{\"k\":1},\"b\":{\"k\":2},\"c\":[{\"k\":1},{\"k\":2}],\"ts\":1,\"time\":2}");
}

static void test_array_form(void **state)
{
    fx *f = *state;
    osp_value_type type;
    assert_int_equal(decode(f,
                            " \r\n[{\"date\":1714564800.25,\"log\":\"a\"},\n"
                            "  {\"log\":\"b\",\"x\":1}, 5, {\"ts\":\"bad\"}, {\"log\":\"c\"}]\n"),
                     0);
    assert_int_equal(f->b.nrecords, 3);
    assert_int_equal(f->rep.rejected, 2);
    assert_string_equal(f->rep.message, "element 2: expected a JSON object, not a number at "
                                        "offset 59");
    assert_true(f->b.records[0].time_ns == 1714564800250000000ull);
    assert_string_equal(body_text(&f->b, 0, &type), "a");
    assert_string_equal(body_text(&f->b, 1, &type), "b");
    assert_string_equal(attrs_text(f->b.records[1].attributes), "x=1");
    assert_string_equal(body_text(&f->b, 2, &type), "c");
    assert_int_equal(decode(f, "[{\"ts\":\"bad\"}]"), 0);
    assert_string_equal(f->rep.message,
                        "element 0: ts \"bad\" is not an RFC 3339 time or a number at offset 7");
    assert_int_equal(decode(f, "[{\"a\":1,\"a\":2}]"), 0);
    assert_string_equal(f->rep.message,
                        "element 0: duplicate member \"a\" in the object at offset 1");
    assert_int_equal(decode(f, "[]"), 0);
    assert_int_equal(f->b.nrecords + (size_t)f->rep.rejected, 0);

    /* a malformed array fails the request and leaves the batch as it was */
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[{\"msg\":\"a\"},{\"msg\":\"b\"}",
         "malformed JSON: unexpected end of input at offset 24"},
        {"[{\"msg\":\"a\"},]", "malformed JSON: expected a value at offset 13"},
        {"[{\"msg\":\"a\"}]\n{\"msg\":\"b\"}", "malformed JSON: unexpected data after the value at "
                                               "offset 14"},
        {"[{\"msg\":\"\xff\"}]", "malformed JSON: invalid UTF-8 in string at offset 8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        osp_log_batch *b = &f->b;
        osp_log_batch_cleanup(b);
        osp_log_batch_init(b);
        osp_jsonl_report rep;
        assert_int_equal(osp_jsonl_logs_decode(osp_str_c("{\"msg\":\"kept\"}"), b, &rep), 0);
        assert_int_equal(osp_jsonl_logs_decode(osp_str_c(bad[i].text), b, &rep), OSP_EPARSE);
        assert_string_equal(rep.message, bad[i].want);
        assert_int_equal(rep.rejected, 0);
        assert_true(b->nrecords == 1 && b->nresources == 1 && b->nscopes == 1);
    }
}

static void test_lines(void **state)
{
    fx *f = *state;
    osp_value_type type;
    assert_int_equal(
        decode(f, "\n{\"msg\":\"a\"}\r\n  \t\r\n\r\n{\"msg\":\"b\"}\n\n{\"msg\":\"c\"}"), 0);
    assert_int_equal(f->b.nrecords, 3);
    assert_int_equal(f->rep.rejected, 0);
    assert_string_equal(body_text(&f->b, 2, &type), "c");
    assert_int_equal(decode(f, ""), 0);
    assert_true(f->b.nrecords == 0 && f->b.nresources == 0 && f->b.nscopes == 0);
    assert_int_equal(decode(f, " \n\r\n\t"), 0);
    assert_true(f->b.nrecords == 0 && f->rep.rejected == 0);
    /* appends after rows already in the batch, sharing its own new scope */
    osp_jsonl_report rep;
    assert_int_equal(
        osp_jsonl_logs_decode(osp_str_c("{\"msg\":\"d\",\"service\":\"a\"}"), &f->b, &rep), 0);
    assert_int_equal(
        osp_jsonl_logs_decode(osp_str_c("{\"msg\":\"e\",\"service\":\"a\"}"), &f->b, &rep), 0);
    assert_true(f->b.nrecords == 2 && f->b.nresources == 2 && f->b.nscopes == 2);
    assert_true(f->b.records[1].resource == 1 && f->b.records[1].scope == 1);
}

static void test_bad_lines_kept(void **state)
{
    fx *f = *state;
    osp_value_type type;
    assert_int_equal(decode(f, "{\"msg\":\"ok1\"}\n"  /* 0 */
                               "not json\n"           /* 14 */
                               "{\"msg\":\"ok2\"}\n"  /* 23 */
                               "[1,2]\n"              /* 37 */
                               "{\"msg\":\"x\"} {}\n" /* 43 */
                               "{\"msg\":\"cut\"\n"   /* 58 */
                               "\"str\"\n"
                               "{\"msg\":\"ok3\"}"),
                     0);
    assert_int_equal(f->b.nrecords, 3);
    assert_int_equal(f->rep.rejected, 5);
    assert_string_equal(f->rep.message, "line 2: malformed JSON: expected a value at offset 14");
    assert_string_equal(body_text(&f->b, 2, &type), "ok3");
    static const struct {
        const char *line, *want;
    } bad[] = {
        {"7", "line 1: expected a JSON object, not a number at offset 0"},
        {"{\"msg\":\"x\"} {}",
         "line 1: malformed JSON: unexpected data after the value at offset 12"},
        {"{\"msg\":\"cut\"", "line 1: malformed JSON: unexpected end of input at offset 12"},
        {"\"str\"", "line 1: expected a JSON object, not a string at offset 0"},
        {"null", "line 1: expected a JSON object, not null at offset 0"},
        {"{\"a\":01}", "line 1: malformed JSON: leading zero in number at offset 5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        rejected(f, bad[i].line, bad[i].want);
    /* offsets count from the start of the body, across lines */
    assert_int_equal(decode(f, "{}\r\n\n{\"ts\":\"x\"}"), 0);
    assert_string_equal(f->rep.message,
                        "line 3: ts \"x\" is not an RFC 3339 time or a number at offset 11");
}

static void test_invalid_utf8(void **state)
{
    fx *f = *state;
    assert_int_equal(decode(f, "{\"msg\":\"caf\xc3\xa9\"}\n{\"msg\":\"bad \xc3\x28\"}\n"
                               "{\"k\xff\":1}\n{\"msg\":\"ok\"}"),
                     0);
    assert_int_equal(f->b.nrecords, 2);
    assert_int_equal(f->rep.rejected, 2);
    assert_string_equal(f->rep.message,
                        "line 2: malformed JSON: invalid UTF-8 in string at offset 23");
    rejected(f, "{\"a\":1}\xff",
             "line 1: malformed JSON: unexpected data after the value at "
             "offset 7");
}

/* Appends text, then count copies of c. */
static void put_run(osp_buf *b, const char *text, char c, size_t count)
{
    assert_int_equal(osp_buf_puts(b, text), 0);
    assert_int_equal(osp_buf_reserve(b, count), 0);
    memset(b->data + b->len, c, count);
    b->len += count;
}

static void test_long_line(void **state)
{
    fx *f = *state;
    osp_buf b;
    osp_buf_init(&b, 0);
    /* a line of exactly the cap is decoded, one byte more is rejected */
    put_run(&b, "{\"msg\":\"", 'a', OSP_JSONL_MAX_LINE - 10);
    put_run(&b, "\"}\n", 0, 0);
    assert_int_equal(decode_n(f, b.data, b.len), 0);
    assert_true(f->b.nrecords == 1 && f->rep.rejected == 0);
    osp_buf_reset(&b);
    put_run(&b, "{\"msg\":\"\"}\n{\"msg\":\"", 'b', OSP_JSONL_MAX_LINE - 9);
    put_run(&b, "\"}\n{}", 0, 0);
    assert_int_equal(decode_n(f, b.data, b.len), 0);
    assert_int_equal(f->b.nrecords, 2);
    assert_int_equal(f->rep.rejected, 1);
    assert_string_equal(f->rep.message, "line 2: longer than 1048576 bytes at offset 11");
    osp_buf_cleanup(&b);
}

int main(void)
{
#define T(test) cmocka_unit_test_setup_teardown(test, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_full_record),    T(test_every_alias),  T(test_alias_order), T(test_times),
        T(test_body_types),     T(test_severity),     T(test_ids),         T(test_resources),
        T(test_attributes),     T(test_duplicates),   T(test_array_form),  T(test_lines),
        T(test_bad_lines_kept), T(test_invalid_utf8), T(test_long_line),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
