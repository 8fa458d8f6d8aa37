/* Unit tests for model/logstream's structured metadata: the full label list and the value
 * of one name read on its own, which must agree label for label. */
#include "testutil.h"

#include "core/arena.h"
#include "core/buf.h"
#include "model/attr.h"
#include "model/log.h"
#include "model/logstream.h"

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
        /* the record's attribute before the level computed from the severity */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_agrees_with_the_list),
        cmocka_unit_test(test_first_of_a_name_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
