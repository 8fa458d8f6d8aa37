/* Unit tests for sdk/src/propagation.c and context.c: traceparent, tracestate, baggage,
 * inject / extract, and the per-thread context stack. */
#include "testutil.h"

#include <strings.h>

#include "core/mem.h"
#include "osprey/osprey.h"
#include "trace_int.h"

#define TP_OK "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

/* ---- A small header map for inject / extract ---- */

typedef struct header_map {
    char name[8][32];
    char value[8][OSPREY_BAGGAGE_MAX + 1];
    int n;
} header_map;

static void map_set(void *carrier, const char *name, const char *value)
{
    header_map *m = carrier;
    int i = 0;
    while (i < m->n && strcasecmp(m->name[i], name) != 0)
        i++;
    assert_true(i < 8);
    snprintf(m->name[i], sizeof m->name[i], "%s", name);
    snprintf(m->value[i], sizeof m->value[i], "%s", value);
    if (i == m->n)
        m->n++;
}

static const char *map_get(void *carrier, const char *name)
{
    header_map *m = carrier;
    for (int i = 0; i < m->n; i++)
        if (strcasecmp(m->name[i], name) == 0)
            return m->value[i];
    return NULL;
}

/* ---- traceparent ---- */

static void test_traceparent_valid(void **state)
{
    osprey_span_context c;
    assert_int_equal(osprey_traceparent_parse(TP_OK, &c), 0);
    static const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                    0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
    static const uint8_t sid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    assert_memory_equal(c.trace_id, tid, 16);
    assert_memory_equal(c.span_id, sid, 8);
    assert_int_equal(c.trace_flags, 1);
    assert_false(c.is_remote);
    assert_null(c.trace_state);
    assert_true(osprey_span_context_valid(&c));
    char out[OSPREY_TRACEPARENT_LEN + 1];
    osprey_traceparent_format(&c, out);
    assert_string_equal(out, TP_OK);
    /* Flags other than sampled are kept. */
    assert_int_equal(
        osprey_traceparent_parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", &c), 0);
    assert_int_equal(c.trace_flags, 3);
}

static void test_traceparent_future_version(void **state)
{
    osprey_span_context c;
    assert_int_equal(
        osprey_traceparent_parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &c), 0);
    assert_int_equal(c.trace_flags, 1);
    assert_int_equal(
        osprey_traceparent_parse(
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds", &c),
        0);
    assert_int_equal(c.span_id[7], 0xb7);
    char out[OSPREY_TRACEPARENT_LEN + 1];
    osprey_traceparent_format(&c, out);
    assert_string_equal(out, TP_OK); /* re-emitted as version 00 */
}

static void test_traceparent_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",   /* short */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", /* 00 with more */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", /* 00 with more */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  /* uppercase */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",  /* uppercase */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",  /* uppercase flags */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  /* zero span id */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* version ff */
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* bad version */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  /* bad delimiter */
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",  /* bad delimiter */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",  /* bad delimiter */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  /* bad hex */
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", /* future, no '-' */
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* leading space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        osprey_span_context c;
        memset(&c, 0x5a, sizeof c);
        if (osprey_traceparent_parse(bad[i], &c) != OSPREY_EINVAL)
            fail_msg("accepted: %s", bad[i]);
        assert_false(osprey_span_context_valid(&c));
    }
    osprey_span_context c;
    assert_int_equal(osprey_traceparent_parse(NULL, &c), OSPREY_EINVAL);
    assert_false(osprey_span_context_valid(NULL));
}

static void test_tracestate_copy_cuts_whole_members(void **state)
{
    char in[700], out[OSPREY_TRACESTATE_MAX + 1];
    size_t n = 0;
    for (int i = 0; n < 600; i++)
        n += (size_t)sprintf(in + n, "%sk%02d=value%02d", i ? "," : "", i, i);
    size_t kept = osprey__tracestate_copy(out, in);
    assert_true(kept <= OSPREY_TRACESTATE_MAX);
    assert_int_equal(strlen(out), kept);
    assert_memory_equal(out, in, kept);
    assert_int_equal(in[kept], ','); /* cut at a member boundary */
    assert_int_equal(osprey__tracestate_copy(out, "a=1,b=2"), 7);
    assert_string_equal(out, "a=1,b=2");
    assert_int_equal(osprey__tracestate_copy(out, NULL), 0);
    assert_string_equal(out, "");
}

/* ---- baggage ---- */

static void test_baggage_parse(void **state)
{
    osprey_baggage *b = osprey_baggage_create();
    assert_non_null(b);
    assert_int_equal(osprey_baggage_parse(b, " userId = Am%C3%A9lie ,serverNode=DF%2028,"
                                             "isProduction=false;k=v;flag, bad key=x,"
                                             "noeq,\tempty=\t,eqs=a=b, bad=\"q\", pct=%zz"),
                     0);
    assert_int_equal(osprey_baggage_count(b), 6);
    assert_string_equal(osprey_baggage_get(b, "userId"), "Am\xc3\xa9lie");
    assert_string_equal(osprey_baggage_get(b, "serverNode"), "DF 28");
    assert_string_equal(osprey_baggage_get(b, "isProduction"), "false");
    assert_string_equal(osprey_baggage_get(b, "empty"), "");
    assert_string_equal(osprey_baggage_get(b, "eqs"), "a=b");
    assert_string_equal(osprey_baggage_get(b, "pct"), "%zz");
    assert_null(osprey_baggage_get(b, "bad key"));
    assert_null(osprey_baggage_get(b, "bad"));
    assert_null(osprey_baggage_get(b, "k"));
    const char *name, *value;
    osprey_baggage_at(b, 0, &name, &value);
    assert_string_equal(name, "userId");
    assert_string_equal(value, "Am\xc3\xa9lie");
    osprey_baggage_at(b, 5, &name, &value);
    assert_string_equal(name, "pct");
    osprey_baggage_destroy(b);
}

static void test_baggage_set_format_roundtrip(void **state)
{
    osprey_baggage *b = osprey_baggage_create();
    assert_int_equal(osprey_baggage_set(b, "a", "plain"), 0);
    assert_int_equal(osprey_baggage_set(b, "b", "sp ace,comma;semi%pct\"q\\\xc3\xa9"), 0);
    assert_int_equal(osprey_baggage_set(b, "a", "replaced"), 0);
    assert_int_equal(osprey_baggage_set(b, "bad name", "x"), OSPREY_EINVAL);
    assert_int_equal(osprey_baggage_set(b, "", "x"), OSPREY_EINVAL);
    assert_int_equal(osprey_baggage_count(b), 2);
    char out[256];
    size_t n = osprey_baggage_format(b, out, sizeof out);
    assert_int_equal(n, strlen(out));
    assert_string_equal(out, "a=replaced,b=sp%20ace%2Ccomma%3Bsemi%25pct%22q%5C%C3%A9");
    osprey_baggage *back = osprey_baggage_create();
    assert_int_equal(osprey_baggage_parse(back, out), 0);
    assert_int_equal(osprey_baggage_count(back), 2);
    assert_string_equal(osprey_baggage_get(back, "a"), "replaced");
    assert_string_equal(osprey_baggage_get(back, "b"), osprey_baggage_get(b, "b"));
    /* Too small: whole members only, and the length it needed. */
    char small[16];
    assert_int_equal(osprey_baggage_format(b, small, sizeof small), n);
    assert_string_equal(small, "a=replaced");
    assert_int_equal(osprey_baggage_format(b, small, 0), n);
    osprey_baggage_destroy(back);
    osprey_baggage_destroy(b);
}

static void test_baggage_limits(void **state)
{
    /* 200 members: only the first 180 are taken. */
    char *hdr = malloc(200 * 12);
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        n += (size_t)sprintf(hdr + n, "%sk%03d=v", i ? "," : "", i);
    osprey_baggage *b = osprey_baggage_create();
    assert_int_equal(osprey_baggage_parse(b, hdr), 0);
    assert_int_equal(osprey_baggage_count(b), 180);
    assert_non_null(osprey_baggage_get(b, "k179"));
    assert_null(osprey_baggage_get(b, "k180"));
    osprey_baggage_destroy(b);
    free(hdr);
    /* Past 8192 bytes: the member cut by the limit is dropped whole. */
    hdr = malloc(9000);
    memset(hdr, 0, 9000);
    memset(hdr, 'x', 8000);
    memcpy(hdr, "big=", 4);
    memcpy(hdr + 8000,
           ",cut=0123456789012345678901234567890123456789"
           "01234567890123456789012345678901234567890123456789"
           "01234567890123456789012345678901234567890123456789"
           "01234567890123456789012345678901234567890123456789"
           "01234567890123456789",
           196);
    b = osprey_baggage_create();
    assert_int_equal(osprey_baggage_parse(b, hdr), 0);
    assert_int_equal(osprey_baggage_count(b), 1);
    assert_int_equal(strlen(osprey_baggage_get(b, "big")), 7996);
    assert_null(osprey_baggage_get(b, "cut"));
    osprey_baggage_destroy(b);
    free(hdr);
}

static void test_baggage_out_of_memory(void **state)
{
    size_t before = osp_mem_in_use();
    osprey_baggage *b = osprey_baggage_create();
    osp_mem_fail_after(1);
    assert_int_equal(osprey_baggage_parse(b, "a=1,b=2"), OSPREY_ENOMEM);
    osp_mem_fail_after(2);
    assert_int_equal(osprey_baggage_set(b, "c", "3"), OSPREY_ENOMEM);
    osp_mem_fail_after(0);
    osprey_baggage_destroy(b);
    assert_int_equal(osp_mem_in_use(), before);
}

/* ---- inject / extract ---- */

static void test_inject_extract_roundtrip(void **state)
{
    osprey_span_context c;
    assert_int_equal(osprey_traceparent_parse(TP_OK, &c), 0);
    c.trace_state = "vendor=abc,other=1";
    osprey_baggage *b = osprey_baggage_create();
    assert_int_equal(osprey_baggage_set(b, "user", "Zoë Q"), 0);
    header_map *m = calloc(1, sizeof *m);
    osprey_inject(&c, b, map_set, m);
    assert_int_equal(m->n, 3);
    assert_string_equal(map_get(m, "traceparent"), TP_OK);
    assert_string_equal(map_get(m, "tracestate"), "vendor=abc,other=1");
    assert_string_equal(map_get(m, "Baggage"), "user=Zo%C3%AB%20Q");
    osprey_carrier_context cc;
    assert_int_equal(osprey_extract(map_get, m, &cc), 0);
    assert_true(osprey_span_context_valid(&cc.span));
    assert_true(cc.span.is_remote);
    assert_memory_equal(cc.span.trace_id, c.trace_id, 16);
    assert_memory_equal(cc.span.span_id, c.span_id, 8);
    assert_int_equal(cc.span.trace_flags, 1);
    assert_ptr_equal(cc.span.trace_state, cc.trace_state);
    assert_string_equal(cc.trace_state, "vendor=abc,other=1");
    assert_non_null(cc.baggage);
    assert_string_equal(osprey_baggage_get(cc.baggage, "user"), "Zoë Q");
    osprey_carrier_context_cleanup(&cc);
    assert_null(cc.baggage);
    osprey_baggage_destroy(b);
    free(m);
}

static void test_inject_extract_partial(void **state)
{
    header_map *m = calloc(1, sizeof *m);
    osprey_span_context none = {0};
    osprey_inject(&none, NULL, map_set, m);
    assert_int_equal(m->n, 0);
    /* No trace state: no tracestate header; empty baggage: no baggage header. */
    osprey_span_context c;
    assert_int_equal(osprey_traceparent_parse(TP_OK, &c), 0);
    osprey_baggage *b = osprey_baggage_create();
    osprey_inject(&c, b, map_set, m);
    assert_int_equal(m->n, 1);
    /* A bad traceparent: invalid context, tracestate ignored, baggage still read. */
    header_map *in = calloc(1, sizeof *in);
    map_set(in, "traceparent", "00-zz");
    map_set(in, "tracestate", "a=b");
    map_set(in, "baggage", "k=v");
    osprey_carrier_context cc;
    assert_int_equal(osprey_extract(map_get, in, &cc), 0);
    assert_false(osprey_span_context_valid(&cc.span));
    assert_null(cc.span.trace_state);
    assert_string_equal(cc.trace_state, "");
    assert_string_equal(osprey_baggage_get(cc.baggage, "k"), "v");
    osprey_carrier_context_cleanup(&cc);
    /* Nothing at all. */
    header_map *empty = calloc(1, sizeof *empty);
    assert_int_equal(osprey_extract(map_get, empty, &cc), 0);
    assert_false(osprey_span_context_valid(&cc.span));
    assert_null(cc.baggage);
    osprey_baggage_destroy(b);
    free(m);
    free(in);
    free(empty);
}

/* ---- per-thread context stack ---- */

static void test_context_stack(void **state)
{
    osprey_span_context out;
    assert_false(osprey_current_context(&out));
    assert_false(osprey_span_context_valid(&out));
    osprey_span_context a, b;
    assert_int_equal(osprey_traceparent_parse(TP_OK, &a), 0);
    b = a;
    b.span_id[7] ^= 1;
    char ts[] = "x=1";
    b.trace_state = ts;
    osprey_scope sa = osprey_attach(&a);
    osprey_scope sb = osprey_attach(&b);
    ts[2] = '2'; /* copied in: the stack does not see the change */
    assert_true(osprey_current_context(&out));
    assert_memory_equal(out.span_id, b.span_id, 8);
    assert_string_equal(out.trace_state, "x=1");
    osprey_detach(sb);
    assert_true(osprey_current_context(&out));
    assert_memory_equal(out.span_id, a.span_id, 8);
    assert_null(out.trace_state);
    osprey_detach(sa);
    assert_false(osprey_current_context(&out));
}

static void test_context_stack_overflow(void **state)
{
    osprey_span_context c;
    osprey_scope scopes[70];
    assert_int_equal(osprey_traceparent_parse(TP_OK, &c), 0);
    for (int i = 0; i < 70; i++) {
        c.span_id[0] = (uint8_t)(i + 1);
        scopes[i] = osprey_attach(&c);
    }
    osprey_span_context out;
    assert_true(osprey_current_context(&out));
    assert_int_equal(out.span_id[0], 64); /* attaches 65..70 were ignored */
    for (int i = 69; i >= 64; i--) {
        osprey_detach(scopes[i]);
        assert_true(osprey_current_context(&out));
        assert_int_equal(out.span_id[0], 64);
    }
    osprey_detach(scopes[63]);
    assert_true(osprey_current_context(&out));
    assert_int_equal(out.span_id[0], 63);
    osprey_detach(scopes[0]);
    assert_false(osprey_current_context(&out));
}

static void *other_thread(void *arg)
{
    osprey_span_context out;
    *(bool *)arg = osprey_current_context(&out);
    return NULL;
}

static void test_context_is_per_thread(void **state)
{
    osprey_span_context c;
    assert_int_equal(osprey_traceparent_parse(TP_OK, &c), 0);
    osprey_scope s = osprey_attach(&c);
    bool seen = true;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, other_thread, &seen), 0);
    pthread_join(th, NULL);
    assert_false(seen);
    osprey_detach(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traceparent_valid),
        cmocka_unit_test(test_traceparent_future_version),
        cmocka_unit_test(test_traceparent_invalid),
        cmocka_unit_test(test_tracestate_copy_cuts_whole_members),
        cmocka_unit_test(test_baggage_parse),
        cmocka_unit_test(test_baggage_set_format_roundtrip),
        cmocka_unit_test(test_baggage_limits),
        cmocka_unit_test(test_baggage_out_of_memory),
        cmocka_unit_test(test_inject_extract_roundtrip),
        cmocka_unit_test(test_inject_extract_partial),
        cmocka_unit_test(test_context_stack),
        cmocka_unit_test(test_context_stack_overflow),
        cmocka_unit_test(test_context_is_per_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
