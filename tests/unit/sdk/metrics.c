/* Unit tests for sdk/src/metrics.c and metric_encode.c: aggregation per attribute set,
 * histograms, overflow, observables, instrument identity and the OTLP encoding. */
#include "testutil.h"

#include <math.h>
#include <pthread.h>

#include "core/mem.h"
#include "core/pb.h"
#include "handprov.h"
#include "metrics_int.h"
#include "osprey/osprey.h"
#include "testserver.h"

/* A provider made by hand: a fixed resource and start time, metrics exporter NONE. */
static osprey_provider *hand_provider(void)
{
    osprey_attr res[] = {OSPREY_STR("service.name", "svc")};
    return hand_provider_with(res, 1, 1000);
}

/* The point whose attribute key has the string (or int) value given, or NULL. */
static const osprey__mpoint *find_point(const osprey__mstream *s, const char *key, const char *sv,
                                        int64_t iv)
{
    for (size_t k = 0; s && k < s->npoints; k++) {
        const osprey__kv *kv = osprey__attrs_find(s->points[k].attrs, key);
        if (kv && kv->type == OSPREY_VALUE_STRING && sv && strcmp(kv->v.s, sv) == 0)
            return &s->points[k];
        if (kv && kv->type == OSPREY_VALUE_INT && !sv && kv->v.i == iv)
            return &s->points[k];
    }
    return NULL;
}

static void test_counter_sums_by_set(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_meter *m = osprey_meter_get(p, "test", NULL);
    osprey_instrument *c = osprey_counter(m, "requests", "1", "Requests");
    assert_non_null(c);
    osprey_attr ab[] = {OSPREY_STR("route", "/a"), OSPREY_INT("code", 200)};
    osprey_attr ba[] = {OSPREY_INT("code", 200), OSPREY_STR("route", "/a")};
    osprey_attr other[] = {OSPREY_STR("route", "/b"), OSPREY_INT("code", 200)};
    osprey_record(c, 2, ab, 2);
    osprey_record(c, 3, ba, 2);
    osprey_record(c, 1, other, 2);
    osprey_record(c, -5, ab, 2);  /* ignored: counters only go up */
    osprey_record(c, NAN, ab, 2); /* ignored */
    osprey__collection col;
    assert_int_equal(osprey__metrics_collect(p->metrics, &col), 0);
    const osprey__mstream *s = find_stream(&col, "requests");
    assert_non_null(s);
    assert_int_equal(s->npoints, 2);
    const osprey__mpoint *a = find_point(s, "route", "/a", 0);
    const osprey__mpoint *b = find_point(s, "route", "/b", 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a->value == 5.0);
    assert_true(b->value == 1.0);
    assert_int_equal(a->attrs->n, 2);
    assert_string_equal(a->attrs->items[0].key, "code"); /* sorted by key */
    assert_string_equal(a->attrs->items[1].key, "route");
    assert_true(col.time_ns >= col.start_ns);
    assert_int_equal(col.start_ns, 1000);
    osprey__collection_cleanup(&col);
    free_provider(p);
}

static void test_updown_and_gauge(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_meter *m = osprey_meter_get(p, "test", "1.0");
    osprey_instrument *u = osprey_updown_counter(m, "queue.depth", "{item}", NULL);
    osprey_instrument *g = osprey_gauge(m, "temperature", "Cel", NULL);
    osprey_record(u, 5, NULL, 0);
    osprey_record(u, -3, NULL, 0);
    osprey_record(g, 1, NULL, 0);
    osprey_record(g, 7, NULL, 0);
    osprey_record(g, 3, NULL, 0);
    osprey__collection col;
    assert_int_equal(osprey__metrics_collect(p->metrics, &col), 0);
    const osprey__mstream *su = find_stream(&col, "queue.depth");
    const osprey__mstream *sg = find_stream(&col, "temperature");
    assert_int_equal(su->npoints, 1);
    assert_true(su->points[0].value == 2.0);
    assert_int_equal(su->points[0].attrs->n, 0);
    assert_int_equal(sg->npoints, 1);
    assert_true(sg->points[0].value == 3.0);
    osprey__collection_cleanup(&col);
    free_provider(p);
}

static void test_histogram_buckets(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_meter *m = osprey_meter_get(p, "test", NULL);
    const double bounds[] = {1, 5, 10};
    osprey_instrument *h = osprey_histogram(m, "latency", "ms", "Latency", bounds, 3);
    assert_non_null(h);
    const double values[] = {0.5, 1, 5, 7, 10, 11, NAN, INFINITY};
    for (size_t k = 0; k < sizeof values / sizeof values[0]; k++)
        osprey_record(h, values[k], NULL, 0);
    osprey__collection col;
    assert_int_equal(osprey__metrics_collect(p->metrics, &col), 0);
    const osprey__mstream *s = find_stream(&col, "latency");
    assert_int_equal(s->npoints, 1);
    const osprey__mpoint *pt = &s->points[0];
    const uint64_t want[] = {2, 1, 2, 1}; /* (-inf,1] (1,5] (5,10] (10,+inf) */
    for (size_t k = 0; k < 4; k++)
        assert_int_equal(pt->buckets[k], want[k]);
    assert_int_equal(pt->count, 6);
    assert_true(pt->sum == 34.5);
    assert_true(pt->min == 0.5);
    assert_true(pt->max == 11);
    osprey__collection_cleanup(&col);
    free_provider(p);
}

static void test_histogram_default_and_bad_bounds(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_meter *m = osprey_meter_get(p, "test", NULL);
    osprey_instrument *h = osprey_histogram(m, "sizes", NULL, NULL, NULL, 0);
    assert_non_null(h);
    const double defaults[] = {0,   5,   10,   25,   50,   75,   100,  250,
                               500, 750, 1000, 2500, 5000, 7500, 10000};
    assert_int_equal(h->nbounds, 15);
    assert_memory_equal(h->bounds, defaults, sizeof defaults);
    osprey_record(h, 10000, NULL, 0);
    osprey_record(h, 10001, NULL, 0);
    osprey_record(h, -1, NULL, 0);
    osprey__collection col;
    assert_int_equal(osprey__metrics_collect(p->metrics, &col), 0);
    const osprey__mpoint *pt = &find_stream(&col, "sizes")->points[0];
    assert_int_equal(pt->buckets[0], 1);
    assert_int_equal(pt->buckets[14], 1);
    assert_int_equal(pt->buckets[15], 1);
    osprey__collection_cleanup(&col);

    const double equal[] = {1, 1}, down[] = {2, 1}, nan[] = {1, NAN}, inf[] = {1, INFINITY};
    assert_null(osprey_histogram(m, "h1", NULL, NULL, equal, 2));
    assert_null(osprey_histogram(m, "h2", NULL, NULL, down, 2));
    assert_null(osprey_histogram(m, "h3", NULL, NULL, nan, 2));
    assert_null(osprey_histogram(m, "h4", NULL, NULL, inf, 2));
    free_provider(p);
}

static void test_overflow_set(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_meter *m = osprey_meter_get(p, "test", NULL);
    osprey_instrument *c = osprey_counter(m, "many", NULL, NULL);
    for (int64_t k = 0; k < OSPREY__METRIC_SET_LIMIT + 5; k++) {
        osprey_attr a = OSPREY_INT("k", k);
        osprey_record(c, 1, &a, 1);
    }
    osprey_attr first = OSPREY_INT("k", 0);
    osprey_record(c, 1, &first, 1); /* an existing set still aggregates in place */
    osprey__collection col;
    assert_int_equal(osprey__metrics_collect(p->metrics, &col), 0);
    const osprey__mstream *s = find_stream(&col, "many");
    assert_int_equal(s->npoints, OSPREY__METRIC_SET_LIMIT + 1);
    assert_true(find_point(s, "k", NULL, 0)->value == 2);
    assert_null(find_point(s, "k", NULL, OSPREY__METRIC_SET_LIMIT));
    const osprey__mpoint *ov = NULL;
    for (size_t k = 0; k < s->npoints; k++)
        if (osprey__attrs_find(s->points[k].attrs, "otel.metric.overflow"))
            ov = &s->points[k];
    assert_non_null(ov);
    assert_int_equal(ov->attrs->n, 1);
    assert_true(ov->attrs->items[0].type == OSPREY_VALUE_BOOL && ov->attrs->items[0].v.b);
    assert_true(ov->value == 5);
    osprey__collection_cleanup(&col);
    free_provider(p);
}

typedef struct obs_state {
    int calls;
} obs_state;

static void observe_two(osprey_observer *o, void *arg)
{
    obs_state *st = arg;
    st->calls++;
    osprey_attr a = OSPREY_STR("cpu", "0"), b = OSPREY_STR("cpu", "1");
    osprey_observe(o, 10.0 * st->calls, &a, 1);
    if (st->calls == 1)
        osprey_observe(o, 1, &b, 1);
}

static void test_observables(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_meter *m = osprey_meter_get(p, "test", NULL);
    obs_state st = {0};
    osprey_instrument *o =
        osprey_observable(m, OSPREY_OBSERVABLE_COUNTER, "cpu.time", "s", NULL, observe_two, &st);
    assert_non_null(o);
    assert_null(osprey_observable(m, OSPREY_OBSERVABLE_GAUGE, "x", NULL, NULL, NULL, NULL));
    osprey_record(o, 100, NULL, 0); /* not for observables */
    osprey__collection col;
    assert_int_equal(osprey__metrics_collect(p->metrics, &col), 0);
    assert_int_equal(st.calls, 1);
    const osprey__mstream *s = find_stream(&col, "cpu.time");
    assert_int_equal(s->npoints, 2);
    assert_true(find_point(s, "cpu", "0", 0)->value == 10);
    assert_true(find_point(s, "cpu", "1", 0)->value == 1);
    osprey__collection_cleanup(&col);
    assert_int_equal(osprey__metrics_collect(p->metrics, &col), 0);
    assert_int_equal(st.calls, 2);
    s = find_stream(&col, "cpu.time");
    assert_int_equal(s->npoints, 1); /* cpu=1 was not observed this time */
    assert_true(find_point(s, "cpu", "0", 0)->value == 20);
    osprey__collection_cleanup(&col);
    free_provider(p);
}

static void test_identity_and_names(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_meter *m = osprey_meter_get(p, "test", "1");
    assert_ptr_equal(m, osprey_meter_get(p, "test", "1"));
    assert_ptr_not_equal(m, osprey_meter_get(p, "test", "2"));
    assert_ptr_not_equal(m, osprey_meter_get(p, "other", "1"));
    assert_null(osprey_meter_get(p, NULL, NULL));
    osprey_instrument *c = osprey_counter(m, "a.b_c-d/e", "s", NULL);
    assert_non_null(c);
    assert_ptr_equal(c, osprey_counter(m, "a.b_c-d/e", "s", NULL));
    assert_ptr_equal(c, osprey_counter(m, "A.B_C-D/E", "s", NULL));
    assert_ptr_equal(c, osprey_gauge(m, "a.b_c-d/e", "s", NULL)); /* warns once */
    assert_int_equal(c->kind, OSPREY__INST_COUNTER);
    char longest[257];
    memset(longest, 'a', 256);
    longest[256] = '\0';
    assert_null(osprey_counter(m, longest, NULL, NULL));
    longest[255] = '\0';
    assert_non_null(osprey_counter(m, longest, NULL, NULL));
    const char *bad[] = {"", "1abc", "_abc", "a b", "a\xc3\xa9", "a,b", "a:b"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        assert_null(osprey_counter(m, bad[k], NULL, NULL));
    assert_null(osprey_counter(m, NULL, NULL, NULL));
    assert_null(osprey_counter(NULL, "ok", NULL, NULL));
    assert_null(osprey_counter(m, "ok", "\x01", NULL));
    free_provider(p);
}

static void test_fmt_double(void **state)
{
    char b[32];
    assert_string_equal(osprey__fmt_double(0, b), "0");
    assert_string_equal(osprey__fmt_double(100, b), "100");
    assert_string_equal(osprey__fmt_double(2.5, b), "2.5");
    assert_string_equal(osprey__fmt_double(0.005, b), "0.005");
    assert_string_equal(osprey__fmt_double(0.1, b), "0.1");
    assert_string_equal(osprey__fmt_double(-7, b), "-7");
    assert_string_equal(osprey__fmt_double(123456, b), "123456");
    assert_string_equal(osprey__fmt_double(1e6, b), "1e+06");
    assert_string_equal(osprey__fmt_double(1.5e-5, b), "1.5e-05");
    assert_string_equal(osprey__fmt_double(1.0 / 3, b), "0.3333333333333333");
    assert_string_equal(osprey__fmt_double(NAN, b), "NaN");
    assert_string_equal(osprey__fmt_double(INFINITY, b), "+Inf");
    assert_string_equal(osprey__fmt_double(-INFINITY, b), "-Inf");
}

static void *record_many(void *arg)
{
    osprey_instrument *inst = arg;
    for (int k = 0; k < 20000; k++) {
        osprey_attr a = OSPREY_INT("set", k % 3);
        osprey_record(inst, 1, &a, 1);
    }
    return NULL;
}

static void test_concurrent_records(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_instrument *c = osprey_counter(osprey_meter_get(p, "test", NULL), "ops", NULL, NULL);
    pthread_t t[4];
    for (int k = 0; k < 4; k++)
        assert_int_equal(pthread_create(&t[k], NULL, record_many, c), 0);
    for (int k = 0; k < 4; k++)
        pthread_join(t[k], NULL);
    osprey__collection col;
    assert_int_equal(osprey__metrics_collect(p->metrics, &col), 0);
    const osprey__mstream *s = find_stream(&col, "ops");
    assert_int_equal(s->npoints, 3);
    double total = 0;
    for (size_t k = 0; k < 3; k++)
        total += s->points[k].value;
    assert_true(total == 4 * 20000);
    assert_true(find_point(s, "set", NULL, 0)->value == 4 * 6667);
    osprey__collection_cleanup(&col);
    free_provider(p);
}

/* Every allocation failing in turn: recording drops the value, collecting and encoding
 * report OSPREY_ENOMEM, and nothing leaks (the sanitizer build checks that). */
static void test_allocation_failures(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_meter *m = osprey_meter_get(p, "test", NULL);
    osprey_instrument *h = osprey_histogram(m, "h", NULL, NULL, NULL, 0);
    osprey_attr a = OSPREY_STR("k", "v");
    osp_mem_fail_after(1);
    osprey_record(h, 1, &a, 1); /* the new set cannot be made: dropped */
    osp_mem_fail_after(0);
    osprey__collection col;
    assert_int_equal(osprey__metrics_collect(p->metrics, &col), 0);
    assert_null(find_stream(&col, "h"));
    osprey__collection_cleanup(&col);
    osprey_record(h, 1, &a, 1);
    int failures = 0;
    for (unsigned long k = 1; k < 200; k++) {
        osp_buf b;
        osp_buf_init(&b, 0);
        osp_mem_fail_after(k);
        int rc = osprey__metrics_collect(p->metrics, &col);
        if (rc == 0)
            rc = osprey__encode_metrics(&b, &col);
        osp_mem_fail_after(0);
        assert_true(rc == 0 || rc == OSPREY_ENOMEM);
        failures += rc != 0;
        osprey__collection_cleanup(&col);
        osp_buf_cleanup(&b);
        char *text = NULL;
        osp_mem_fail_after(k);
        rc = osprey_metrics_prometheus(p, &text, NULL);
        osp_mem_fail_after(0);
        assert_true(rc == 0 ? text != NULL : rc == OSPREY_ENOMEM && text == NULL);
        free(text);
    }
    assert_true(failures > 0);
    free_provider(p);
}

/* ---- OTLP decoding ------------------------------------------------------------------------- */

typedef struct dpoint {
    char attrs[128]; /* "key=value;" for each attribute */
    uint64_t start, time, count;
    double value, sum, min, max;
    uint64_t buckets[8];
    double bounds[8];
    size_t nbuckets, nbounds;
    int seen; /* bit per field number */
} dpoint;

typedef struct dmetric {
    char name[32], description[32], unit[16];
    int data; /* 5 gauge, 7 sum, 9 histogram */
    uint64_t temporality, monotonic;
    dpoint points[4];
    size_t npoints;
} dmetric;

typedef struct dscope {
    char name[16], version[16];
    dmetric metrics[4];
    size_t n;
} dscope;

typedef struct drequest {
    char resource[1024];
    dscope scopes[3];
    size_t n;
} drequest;

static void copy_str(char *dst, size_t cap, osp_str s)
{
    assert_true(s.n < cap);
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
}

static void decode_any(osp_str bytes, char *out, size_t cap)
{
    osp_pb_reader r = osp_pb_reader_make(bytes.p, bytes.n);
    osp_pb_field f;
    assert_int_equal(osp_pb_next(&r, &f), 1);
    if (f.num == 1)
        snprintf(out, cap, "%.*s", (int)f.bytes.n, f.bytes.p);
    else if (f.num == 2)
        snprintf(out, cap, "%s", f.u64 ? "true" : "false");
    else if (f.num == 3)
        snprintf(out, cap, "%lld", (long long)f.u64);
    else if (f.num == 4)
        snprintf(out, cap, "%g", osp_pb_as_double(f.u64));
    else
        fail_msg("unexpected AnyValue field %u", f.num);
    assert_int_equal(osp_pb_next(&r, &f), 0);
}

static void decode_kv(osp_str bytes, char *out, size_t cap)
{
    osp_pb_reader r = osp_pb_reader_make(bytes.p, bytes.n);
    osp_pb_field f;
    char key[64] = "", value[64] = "";
    while (osp_pb_next(&r, &f) == 1) {
        if (f.num == 1)
            copy_str(key, sizeof key, f.bytes);
        else if (f.num == 2)
            decode_any(f.bytes, value, sizeof value);
        else
            fail_msg("unexpected KeyValue field %u", f.num);
    }
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s=%s;", key, value);
}

static void decode_packed(osp_str bytes, uint64_t *out, size_t *n)
{
    assert_int_equal(bytes.n % 8, 0);
    *n = bytes.n / 8;
    assert_true(*n <= 8);
    for (size_t k = 0; k < *n; k++) {
        uint64_t v = 0;
        for (int b = 7; b >= 0; b--)
            v = v << 8 | (uint8_t)bytes.p[k * 8 + b];
        out[k] = v;
    }
}

static void decode_point(osp_str bytes, dpoint *d, bool hist)
{
    osp_pb_reader r = osp_pb_reader_make(bytes.p, bytes.n);
    osp_pb_field f;
    uint64_t bounds[8];
    while (osp_pb_next(&r, &f) == 1) {
        d->seen |= 1 << f.num;
        if (f.num == (hist ? 9u : 7u)) {
            decode_kv(f.bytes, d->attrs, sizeof d->attrs);
            continue;
        }
        switch (f.num) {
        case 2:
            d->start = f.u64;
            break;
        case 3:
            d->time = f.u64;
            break;
        case 4:
            assert_int_equal(f.wire, OSP_PB_I64);
            if (hist)
                d->count = f.u64;
            else
                d->value = osp_pb_as_double(f.u64);
            break;
        case 5:
            d->sum = osp_pb_as_double(f.u64);
            break;
        case 6:
            decode_packed(f.bytes, d->buckets, &d->nbuckets);
            break;
        case 7:
            decode_packed(f.bytes, bounds, &d->nbounds);
            for (size_t k = 0; k < d->nbounds; k++)
                d->bounds[k] = osp_pb_as_double(bounds[k]);
            break;
        case 11:
            d->min = osp_pb_as_double(f.u64);
            break;
        case 12:
            d->max = osp_pb_as_double(f.u64);
            break;
        default:
            fail_msg("unexpected data point field %u", f.num);
        }
    }
}

static void decode_data(osp_str bytes, dmetric *m)
{
    osp_pb_reader r = osp_pb_reader_make(bytes.p, bytes.n);
    osp_pb_field f;
    while (osp_pb_next(&r, &f) == 1) {
        if (f.num == 1) {
            assert_true(m->npoints < 4);
            decode_point(f.bytes, &m->points[m->npoints++], m->data == 9);
        } else if (f.num == 2 && m->data != 5) {
            m->temporality = f.u64;
        } else if (f.num == 3 && m->data == 7) {
            m->monotonic = f.u64;
        } else {
            fail_msg("unexpected field %u in data %d", f.num, m->data);
        }
    }
}

static void decode_metric(osp_str bytes, dmetric *m)
{
    osp_pb_reader r = osp_pb_reader_make(bytes.p, bytes.n);
    osp_pb_field f;
    while (osp_pb_next(&r, &f) == 1) {
        if (f.num == 1) {
            copy_str(m->name, sizeof m->name, f.bytes);
        } else if (f.num == 2) {
            copy_str(m->description, sizeof m->description, f.bytes);
        } else if (f.num == 3) {
            copy_str(m->unit, sizeof m->unit, f.bytes);
        } else if (f.num == 5 || f.num == 7 || f.num == 9) {
            assert_int_equal(m->data, 0);
            m->data = (int)f.num;
            decode_data(f.bytes, m);
        } else {
            fail_msg("unexpected Metric field %u", f.num);
        }
    }
}

static void decode_scope(osp_str bytes, dscope *s)
{
    osp_pb_reader r = osp_pb_reader_make(bytes.p, bytes.n);
    osp_pb_field f;
    while (osp_pb_next(&r, &f) == 1) {
        if (f.num == 1) {
            osp_pb_reader sr = osp_pb_reader_make(f.bytes.p, f.bytes.n);
            osp_pb_field g;
            while (osp_pb_next(&sr, &g) == 1) {
                assert_true(g.num == 1 || g.num == 2);
                copy_str(g.num == 1 ? s->name : s->version, 16, g.bytes);
            }
        } else if (f.num == 2) {
            assert_true(s->n < 4);
            decode_metric(f.bytes, &s->metrics[s->n++]);
        } else {
            fail_msg("unexpected ScopeMetrics field %u", f.num);
        }
    }
}

static void decode_request(const void *body, size_t len, drequest *d)
{
    osp_pb_reader r = osp_pb_reader_make(body, len);
    osp_pb_field f, g;
    assert_int_equal(osp_pb_next(&r, &f), 1);
    assert_int_equal(f.num, 1); /* one ResourceMetrics */
    assert_int_equal(osp_pb_next(&r, &g), 0);
    osp_pb_reader rm = osp_pb_reader_make(f.bytes.p, f.bytes.n);
    while (osp_pb_next(&rm, &g) == 1) {
        if (g.num == 1) {
            osp_pb_reader res = osp_pb_reader_make(g.bytes.p, g.bytes.n);
            osp_pb_field a;
            while (osp_pb_next(&res, &a) == 1) {
                assert_int_equal(a.num, 1);
                decode_kv(a.bytes, d->resource, sizeof d->resource);
            }
        } else if (g.num == 2) {
            assert_true(d->n < 3);
            decode_scope(g.bytes, &d->scopes[d->n++]);
        } else {
            fail_msg("unexpected ResourceMetrics field %u", g.num);
        }
    }
}

static void test_otlp_encoding(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_meter *m1 = osprey_meter_get(p, "lib.one", "1.2");
    osprey_meter *m2 = osprey_meter_get(p, "lib.two", NULL);
    osprey_instrument *c = osprey_counter(m1, "requests", "{request}", "Requests served");
    osprey_instrument *u = osprey_updown_counter(m1, "inflight", NULL, NULL);
    const double bounds[] = {1, 10};
    osprey_instrument *h = osprey_histogram(m2, "latency", "ms", "Latency", bounds, 2);
    osprey_instrument *g = osprey_gauge(m2, "temp", "Cel", NULL);
    osprey_instrument *unused = osprey_counter(m2, "unused", NULL, NULL);
    assert_non_null(unused);
    osprey_attr a = OSPREY_STR("route", "/x");
    osprey_record(c, 4, &a, 1);
    osprey_record(u, -2, NULL, 0);
    osprey_record(h, 0.5, &a, 1);
    osprey_record(h, 5, &a, 1);
    osprey_record(h, 20, &a, 1);
    osprey_record(g, 21.5, NULL, 0);

    osprey__collection col;
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osprey__metrics_collect(p->metrics, &col), 0);
    assert_int_equal(osprey__encode_metrics(&b, &col), 0);
    drequest *d = calloc(1, sizeof *d);
    decode_request(b.data, b.len, d);

    assert_string_equal(d->resource, "service.name=svc;");
    assert_int_equal(d->n, 2);
    assert_string_equal(d->scopes[0].name, "lib.one");
    assert_string_equal(d->scopes[0].version, "1.2");
    assert_string_equal(d->scopes[1].name, "lib.two");
    assert_string_equal(d->scopes[1].version, "");
    assert_int_equal(d->scopes[0].n, 2);
    assert_int_equal(d->scopes[1].n, 2); /* "unused" has no points */

    const dmetric *mc = &d->scopes[0].metrics[0];
    assert_string_equal(mc->name, "requests");
    assert_string_equal(mc->description, "Requests served");
    assert_string_equal(mc->unit, "{request}");
    assert_int_equal(mc->data, 7);
    assert_int_equal(mc->temporality, 2);
    assert_int_equal(mc->monotonic, 1);
    assert_int_equal(mc->npoints, 1);
    assert_string_equal(mc->points[0].attrs, "route=/x;");
    assert_int_equal(mc->points[0].start, 1000);
    assert_int_equal(mc->points[0].time, col.time_ns);
    assert_true(mc->points[0].value == 4);
    assert_int_equal(mc->points[0].seen, 1 << 2 | 1 << 3 | 1 << 4 | 1 << 7);

    const dmetric *mu = &d->scopes[0].metrics[1];
    assert_string_equal(mu->name, "inflight");
    assert_string_equal(mu->unit, "");
    assert_int_equal(mu->data, 7);
    assert_int_equal(mu->temporality, 2);
    assert_int_equal(mu->monotonic, 0);
    assert_true(mu->points[0].value == -2);
    assert_string_equal(mu->points[0].attrs, "");

    const dmetric *mh = &d->scopes[1].metrics[0];
    assert_string_equal(mh->name, "latency");
    assert_string_equal(mh->unit, "ms");
    assert_int_equal(mh->data, 9);
    assert_int_equal(mh->temporality, 2);
    assert_int_equal(mh->npoints, 1);
    const dpoint *hp = &mh->points[0];
    assert_string_equal(hp->attrs, "route=/x;");
    assert_int_equal(hp->start, 1000);
    assert_int_equal(hp->time, col.time_ns);
    assert_int_equal(hp->count, 3);
    assert_true(hp->sum == 25.5);
    assert_true(hp->min == 0.5);
    assert_true(hp->max == 20);
    assert_int_equal(hp->nbuckets, 3);
    assert_int_equal(hp->buckets[0], 1);
    assert_int_equal(hp->buckets[1], 1);
    assert_int_equal(hp->buckets[2], 1);
    assert_int_equal(hp->nbounds, 2);
    assert_true(hp->bounds[0] == 1 && hp->bounds[1] == 10);

    const dmetric *mg = &d->scopes[1].metrics[1];
    assert_string_equal(mg->name, "temp");
    assert_int_equal(mg->data, 5);
    assert_int_equal(mg->temporality, 0);
    assert_true(mg->points[0].value == 21.5);

    free(d);
    osp_buf_cleanup(&b);
    osprey__collection_cleanup(&col);
    free_provider(p);
}

static void test_console_json(void **state)
{
    osprey_provider *p = hand_provider();
    osprey_meter *m = osprey_meter_get(p, "lib", NULL);
    osprey_instrument *c = osprey_counter(m, "hits", "1", "Hits");
    osprey_attr a = OSPREY_STR("k", "v");
    osprey_record(c, 3, &a, 1);
    osprey__collection col;
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osprey__metrics_collect(p->metrics, &col), 0);
    assert_int_equal(osprey__encode_metrics_json(&b, &col), 0);
    char want[512];
    snprintf(want, sizeof want,
             "{\"name\":\"hits\",\"description\":\"Hits\",\"unit\":\"1\",\"scope\":\"lib\","
             "\"type\":\"sum\",\"monotonic\":true,\"time_unix_nano\":%llu,"
             "\"points\":[{\"attributes\":{\"k\":\"v\"},\"value\":3}]}\n",
             (unsigned long long)col.time_ns);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    osp_buf_cleanup(&b);
    osprey__collection_cleanup(&col);
    free_provider(p);
}

/* Through the real provider: create, record, render, shut down. */
static void test_with_provider(void **state)
{
    osprey_options opt = {.service_name = "svc",
                          .traces_exporter = OSPREY_EXPORTER_NONE,
                          .metrics_exporter = OSPREY_EXPORTER_NONE,
                          .logs_exporter = OSPREY_EXPORTER_NONE};
    osprey_provider *p = osprey_provider_create(&opt);
    assert_non_null(p);
    osprey_instrument *c = osprey_counter(osprey_meter_get(p, "lib", NULL), "jobs", NULL, NULL);
    osprey_record(c, 2, NULL, 0);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(osprey_metrics_prometheus(p, &text, &len), 0);
    assert_non_null(strstr(text, "\njobs_total{otel_scope_name=\"lib\"} 2\n"));
    assert_int_equal(strlen(text), len);
    free(text);
    assert_int_equal(osprey_flush(p, 1000), 0);
    assert_int_equal(osprey_shutdown(p, 1000), 0);
}

/* ---- Export over OTLP/HTTP to a local server ------------------------------------------------ */

static test_log got = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void handle_metrics(const osp_http_request *req, osp_http_response *res, void *ctx)
{
    test_log_add(&got, req);
    res->status = 200;
    res->content_type = "application/x-protobuf";
}

/* Flush sends one collection; the periodic thread sends more on its own. */
static void test_otlp_export(void **state)
{
    static const osp_route routes[] = {
        {.method = "POST", .path = "/v1/metrics", .handler = handle_metrics}};
    test_server server;
    test_server_start(&server, routes, 1);

    osprey_options opt = {.service_name = "svc",
                          .traces_exporter = OSPREY_EXPORTER_NONE,
                          .metrics_exporter = OSPREY_EXPORTER_OTLP,
                          .logs_exporter = OSPREY_EXPORTER_NONE,
                          .endpoint = server.endpoint,
                          .metric_interval_ms = 20};
    osprey_provider *p = osprey_provider_create(&opt);
    assert_non_null(p);
    osprey_instrument *c = osprey_counter(osprey_meter_get(p, "lib", "2"), "jobs", "1", "Jobs");
    osprey_attr a = OSPREY_STR("queue", "q1");
    osprey_record(c, 7, &a, 1);
    assert_int_equal(osprey_flush(p, 5000), 0);
    size_t after_flush = test_log_total(&got);
    assert_true(after_flush >= 1);

    pthread_mutex_lock(&got.mu);
    const test_request *r = &got.req[got.n - 1];
    drequest *d = calloc(1, sizeof *d);
    decode_request(r->body, r->len, d);
    assert_string_equal(r->content_type, "application/x-protobuf");
    pthread_mutex_unlock(&got.mu);
    assert_non_null(strstr(d->resource, "service.name=svc;"));
    assert_int_equal(d->n, 1);
    assert_string_equal(d->scopes[0].name, "lib");
    assert_string_equal(d->scopes[0].version, "2");
    assert_int_equal(d->scopes[0].n, 1);
    const dmetric *m = &d->scopes[0].metrics[0];
    assert_string_equal(m->name, "jobs");
    assert_string_equal(m->description, "Jobs");
    assert_string_equal(m->unit, "1");
    assert_int_equal(m->data, 7);
    assert_int_equal(m->monotonic, 1);
    assert_int_equal(m->temporality, 2);
    assert_string_equal(m->points[0].attrs, "queue=q1;");
    assert_true(m->points[0].value == 7);
    assert_true(m->points[0].start > 0 && m->points[0].start <= m->points[0].time);
    free(d);

    /* The export thread keeps sending every 20 ms; wait (bounded) for one more. */
    for (int k = 0; k < 500 && test_log_total(&got) == after_flush; k++)
        usleep(10000);
    assert_true(test_log_total(&got) > after_flush);
    /* The server sees the request before the exporter counts its answer: wait for that too. */
    osprey_stats st;
    osprey_get_stats(p, &st);
    for (int k = 0; k < 500 && st.metric_exports < 2; k++) {
        usleep(10000);
        osprey_get_stats(p, &st);
    }
    assert_true(st.metric_exports >= 2);
    assert_int_equal(osprey_shutdown(p, 5000), 0);
    test_server_stop(&server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_sums_by_set),
        cmocka_unit_test(test_updown_and_gauge),
        cmocka_unit_test(test_histogram_buckets),
        cmocka_unit_test(test_histogram_default_and_bad_bounds),
        cmocka_unit_test(test_overflow_set),
        cmocka_unit_test(test_observables),
        cmocka_unit_test(test_identity_and_names),
        cmocka_unit_test(test_fmt_double),
        cmocka_unit_test(test_concurrent_records),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_otlp_encoding),
        cmocka_unit_test(test_console_json),
        cmocka_unit_test(test_with_provider),
        cmocka_unit_test(test_otlp_export),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
