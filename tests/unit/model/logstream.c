/* Unit tests for model/logstream's structured metadata: the full label list and the value
 * of one name read on its own, which must agree label for label. */
#include "testutil.h"

#include "core/arena.h"
#include "core/buf.h"
#include "model/attr.h"
#include "model/log.h"
#include "model/loglevel.h"
#include "model/logstream.h"
#include "model/series.h"

static osp_str attrs_blob(osp_arena *a, const char *const *kv, size_t n)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    for (size_t i = 0; i + 1 < n; i += 2) {
        osp_value v = {.type = OSP_VAL_STRING, .s = osp_str_c(kv[i + 1])};
        assert_int_equal(osp_attr_append(&b, osp_str_c(kv[i]), &v), 0);
    }
    osp_value num = {.type = OSP_VAL_INT, .i = 42};
    assert_int_equal(osp_attr_append(&b, osp_str_c("retries"), &num), 0);
    osp_str s = osp_arena_strdup(a, osp_buf_str(&b));
    osp_buf_cleanup(&b);
    return s;
}

/* A record with attributes (one clashing with a computed label, one with a dotted name),
 * a resource with promoted and other attributes, a scope and every computed field. */
static void fill(osp_log_batch *b, osp_arena *a, uint8_t labels_from)
{
    static const char *const rec_attrs[] = {"http.method", "GET",     "detected_level",
                                            "custom",      "user_id", "u1"};
    static const char *const res_attrs[] = {"service.name", "checkout", "host.name",
                                            "h1",           "user_id",  "from-resource"};
    osp_resource *res = osp_log_batch_add_resource(b);
    osp_scope *sc = osp_log_batch_add_scope(b);
    osp_log_record *r = osp_log_batch_add_record(b);
    assert_true(res && sc && r);
    res->attributes = attrs_blob(a, res_attrs, 6);
    sc->name = osp_str_c("lib");
    sc->version = osp_str_c("1.2");
    r->attributes = attrs_blob(a, rec_attrs, 6);
    r->time_ns = 5;
    r->observed_ns = 7;
    memset(r->trace_id, 0xab, sizeof r->trace_id);
    memset(r->span_id, 0x01, sizeof r->span_id);
    r->severity_number = 17;
    r->severity_text = osp_str_c("ERROR");
    r->flags = 1;
    r->event_name = osp_str_c("checkout.failed");
    r->labels_from = labels_from;
}

static void check_agrees(uint8_t labels_from, size_t want)
{
    /* names that are no label: absent, unsanitized, promoted, empty, a key's prefix, a
     * value's text, no name byte but '_' */
    static const char *const others[] = {"missing",  "http.method", "service_name", "", "retrie",
                                         "checkout", "__"};
    osp_log_batch b;
    osp_arena a;
    osp_label *l;
    size_t n;
    osp_str v;
    osp_arena_init(&a, 0, 0);
    osp_log_batch_init(&b);
    fill(&b, &a, labels_from);
    assert_int_equal(osp_log_metadata(&b, 0, &a, &l, &n), 0);
    assert_int_equal(n, want);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(osp_log_metadata_value(&b, 0, &a, l[i].name, &v), 0);
        assert_true(osp_str_eq(v, l[i].value));
    }
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        int listed = 0;
        for (size_t k = 0; k < n; k++)
            listed |= osp_str_eqz(l[k].name, others[i]);
        assert_int_equal(osp_log_metadata_value(&b, 0, &a, osp_str_c(others[i]), &v), 0);
        assert_int_equal(v.n != 0, listed);
    }
    osp_log_batch_cleanup(&b);
    osp_arena_cleanup(&a);
}

static void test_value_agrees_with_the_list(void **state)
{
    (void)state;
    /* attributes (4, names sanitized), host_name, scope_name and scope_version, and seven
     * computed fields (detected_level is the attribute's) */
    check_agrees(OSP_LOG_LABELS_PROMOTED, 14);
    /* a Loki record: attributes as named, no resource or scope labels */
    check_agrees(OSP_LOG_LABELS_ALL, 11);
}

static void test_first_of_a_name_wins(void **state)
{
    (void)state;
    static const struct {
        const char *name, *want;
    } cases[] = {
        /* a detected_level the record carries, before anything else (no level word, so
         * kept as it is) */
        {"detected_level", "custom"},
        /* the record's attribute before the resource's */
        {"user_id", "u1"},
        /* names as sanitized, values of other kinds as text, computed fields */
        {"http_method", "GET"},
        {"retries", "42"},
        {"host_name", "h1"},
        {"span_id", "0101010101010101"},
        {"severity_number", "17"},
        {"scope_version", "1.2"},
        /* a promoted resource attribute is a stream label, not metadata */
        {"service_name", ""},
    };
    osp_log_batch b;
    osp_arena a;
    osp_str v;
    osp_arena_init(&a, 0, 0);
    osp_log_batch_init(&b);
    fill(&b, &a, OSP_LOG_LABELS_PROMOTED);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(osp_log_metadata_value(&b, 0, &a, osp_str_c(cases[i].name), &v), 0);
        if (!osp_str_eqz(v, cases[i].want))
            fail_msg("%s: \"%.*s\", want \"%s\"", cases[i].name, (int)v.n, v.p, cases[i].want);
    }
    osp_log_batch_cleanup(&b);
    osp_arena_cleanup(&a);
}

/* The value of name for record i, as the listing gives it ("" when it has none). */
static osp_str listed_value(const osp_log_batch *b, size_t i, osp_arena *a, const char *name)
{
    osp_label *l;
    size_t n;
    assert_int_equal(osp_log_metadata(b, i, a, &l, &n), 0);
    for (size_t k = 0; k < n; k++)
        if (osp_str_eqz(l[k].name, name))
            return l[k].value;
    return osp_str_c("");
}

/* A prepared name looked up record after record: resources that give the name and ones
 * that do not, in runs and alternating, and a resource whose bytes change in place. */
static void test_prepared_name_across_records(void **state)
{
    (void)state;
    static const char *const with_zone[] = {"service.name", "a", "zone.name", "z1"};
    static const char *const with_host[] = {"service.name", "a", "host.name", "h1"};
    static const int res_of[] = {1, 1, 0, 1, 0, 0, 1};
    static const char *const names[] = {"zone_name",     "host_name",      "retries",
                                        "severity_text", "detected_level", "missing"};
    osp_log_batch b;
    osp_arena a;
    osp_arena_init(&a, 0, 0);
    osp_log_batch_init(&b);
    osp_resource *res = osp_log_batch_add_resource(&b);
    res->attributes = attrs_blob(&a, with_zone, 4);
    res = osp_log_batch_add_resource(&b);
    res->attributes = attrs_blob(&a, with_host, 4);
    assert_int_equal(b.resources[0].attributes.n, b.resources[1].attributes.n);
    for (size_t i = 0; i < sizeof res_of / sizeof *res_of; i++) {
        osp_log_record *r = osp_log_batch_add_record(&b);
        r->resource = (uint32_t)res_of[i];
        r->scope = UINT32_MAX;
        r->severity_text = osp_str_c(i % 2 ? "WARN" : "INFO");
        r->time_ns = 1;
    }
    for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
        osp_log_meta_name m;
        osp_str v;
        osp_log_meta_name_init(&m, osp_str_c(names[k]));
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < b.nrecords; i++) {
                assert_int_equal(osp_log_meta_name_value(&m, &b, i, &a, &v), 0);
                osp_str want = listed_value(&b, i, &a, names[k]);
                if (!osp_str_eq(v, want))
                    fail_msg("%s, record %zu: \"%.*s\", want \"%.*s\"", names[k], i, (int)v.n, v.p,
                             (int)want.n, want.p);
            }
        osp_log_meta_name_cleanup(&m);
    }
    /* the second resource found without a zone, then given one in the same bytes */
    osp_log_meta_name m;
    osp_str v;
    osp_log_meta_name_init(&m, osp_str_c("zone_name"));
    assert_int_equal(osp_log_meta_name_value(&m, &b, 0, &a, &v), 0);
    assert_int_equal(v.n, 0);
    memcpy((char *)b.resources[1].attributes.p, b.resources[0].attributes.p,
           b.resources[0].attributes.n);
    assert_int_equal(osp_log_meta_name_value(&m, &b, 0, &a, &v), 0);
    assert_true(osp_str_eqz(v, "z1"));
    osp_log_meta_name_cleanup(&m);
    osp_log_batch_cleanup(&b);
    osp_arena_cleanup(&a);
}

/* One record for test_detected_level: its resource's attributes (stream labels of a Loki
 * record), its own, severity and line; "k=v,k=v" lists. */
typedef struct level_case {
    uint8_t labels_from;
    const char *resource, *attrs;
    int32_t severity;
    const char *severity_text, *line;
    uint8_t kept; /* a level a store kept, the line then left out */
    const char *want;
    uint8_t keep; /* osp_log_level_to_keep */
} level_case;

static osp_str kv_blob(osp_arena *a, const char *list)
{
    osp_buf b;
    osp_buf_init(&b, 0);
    for (const char *p = list; p && *p;) {
        const char *eq = strchr(p, '='), *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        osp_value v = {.type = OSP_VAL_STRING, .s = osp_str_make(eq + 1, (size_t)(end - eq - 1))};
        assert_int_equal(osp_attr_append(&b, osp_str_make(p, (size_t)(eq - p)), &v), 0);
        p = *end ? end + 1 : end;
    }
    osp_str s = osp_arena_strdup(a, osp_buf_str(&b));
    osp_buf_cleanup(&b);
    return s;
}

static void test_detected_level(void **state)
{
    (void)state;
    enum { L = OSP_LOG_LABELS_ALL, O = OSP_LOG_LABELS_PROMOTED };
    enum {
        UNSET = OSP_LINE_LEVEL_UNSET,
        UNKNOWN = OSP_LINE_LEVEL_UNKNOWN,
        TRACE = OSP_LINE_LEVEL_TRACE,
        DEBUG = OSP_LINE_LEVEL_DEBUG,
        INFO = OSP_LINE_LEVEL_INFO,
        WARN = OSP_LINE_LEVEL_WARN,
        ERROR = OSP_LINE_LEVEL_ERROR,
        CRITICAL = OSP_LINE_LEVEL_CRITICAL,
        FATAL = OSP_LINE_LEVEL_FATAL
    };
    static const level_case cases[] = {
        /* a stream label, normalized, before the line */
        {L, "app=a,level=WaRn", NULL, 0, NULL, "{\"level\":\"error\"}", 0, "warn", WARN},
        {L, "app=a,LEVEL=notice", NULL, 0, NULL, "error: x", 0, "notice", UNSET},
        /* a detected_level the record carries wins over all, normalized */
        {L, "app=a,level=debug", "severity=critical,detected_level=TRC", 13, NULL, "x", 0, "trace",
         TRACE},
        /* metadata: the first field in Loki's list, not the first attribute */
        {L, "app=a", "lvl=debug,severity=Critical", 0, NULL, "info: x", 0, "critical", CRITICAL},
        {L, "app=a", "log.level=inf", 0, NULL, "x", 0, "info", INFO},
        /* a stream label before metadata, whatever their ranks */
        {L, "app=a,lvl=dbg", "level=error", 0, NULL, "x", 0, "debug", DEBUG},
        /* OTLP: names sanitized (log.level is log_level, no level field), severity_text is
         * metadata, then the number */
        {O, "service.name=s", "log.level=error", 0, NULL, "starting", 0, "unknown", UNKNOWN},
        {O, "service.name=s", "Severity-Text=ERR", 9, NULL, "x", 0, "error", ERROR},
        {O, "service.name=s", NULL, 9, "Information", "x", 0, "info", INFO},
        {O, "service.name=s", "level=fatal", 9, "INFO", "x", 0, "fatal", FATAL},
        {O, "service.name=s", "level=Emergency", 9, "INFO", "x", 0, "Emergency", UNSET},
        {O, "service.name=s", NULL, 13, NULL, "debug: x", 0, "warn", WARN},
        {O, "service.name=s", NULL, 99, NULL, "debug: x", 0, "unknown", UNKNOWN},
        {O, "service.name=s,host.name=h,severity=warn", NULL, 0, NULL, "x", 0, "warn", WARN},
        /* then the line */
        {O, "service.name=s", NULL, 0, NULL, "DEBUG: x", 0, "debug", DEBUG},
        {L, "app=a", NULL, 0, NULL, "level=info msg=\"an error\"", 0, "info", INFO},
        {L, "app=a", NULL, 0, NULL, NULL, 0, "unknown", UNKNOWN},
        /* a kept level is taken as it is, before anything else */
        {L, "app=a", NULL, 0, NULL, NULL, ERROR, "error", ERROR},
        {L, "app=a,level=warn", NULL, 0, NULL, "info: x", FATAL, "fatal", FATAL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const level_case *c = &cases[i];
        osp_log_batch b;
        osp_arena a;
        osp_arena_init(&a, 0, 0);
        osp_log_batch_init(&b);
        osp_resource *res = osp_log_batch_add_resource(&b);
        osp_log_record *r = osp_log_batch_add_record(&b);
        assert_true(res && osp_log_batch_add_scope(&b) && r);
        res->attributes = kv_blob(&a, c->resource);
        r->attributes = kv_blob(&a, c->attrs);
        r->labels_from = c->labels_from;
        r->severity_number = c->severity;
        r->severity_text = osp_str_c(c->severity_text ? c->severity_text : "");
        r->level = c->kept;
        if (c->line) {
            osp_buf body;
            osp_buf_init(&body, 0);
            osp_value v = {.type = OSP_VAL_STRING, .s = osp_str_c(c->line)};
            assert_int_equal(osp_value_put(&body, &v), 0);
            r->body = osp_arena_strdup(&a, osp_buf_str(&body));
            r->has_body = 1;
            osp_buf_cleanup(&body);
        }
        osp_str got, listed;
        osp_label *l;
        size_t n;
        assert_int_equal(osp_log_detected_level(&b, 0, &a, &got), 0);
        if (!osp_str_eqz(got, c->want))
            fail_msg("case %zu: \"%.*s\", want \"%s\"", i, (int)got.n, got.p, c->want);
        osp_buf scratch;
        osp_buf_init(&scratch, 0);
        osp_line_level keep = osp_log_level_to_keep(&b, r, &scratch);
        osp_buf_cleanup(&scratch);
        if ((int)keep != c->keep)
            fail_msg("case %zu: keeps %d, want %d", i, (int)keep, (int)c->keep);
        /* the metadata list and the lookup of one name say the same */
        assert_int_equal(osp_log_metadata(&b, 0, &a, &l, &n), 0);
        assert_true(osp_str_eq(osp_labels_get(l, n, osp_str_c("detected_level")), got));
        assert_int_equal(osp_log_metadata_value(&b, 0, &a, osp_str_c("detected_level"), &listed),
                         0);
        assert_true(osp_str_eq(listed, got));
        /* kept, the level is the same without the line */
        if (keep != OSP_LINE_LEVEL_UNSET) {
            r->level = (uint8_t)keep;
            r->has_body = 0;
            r->body = OSP_STR_NULL;
            assert_int_equal(osp_log_detected_level(&b, 0, &a, &listed), 0);
            assert_true(osp_str_eq(listed, got));
        }
        osp_log_batch_cleanup(&b);
        osp_arena_cleanup(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_agrees_with_the_list),
        cmocka_unit_test(test_first_of_a_name_wins),
        cmocka_unit_test(test_prepared_name_across_records),
        cmocka_unit_test(test_detected_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
