/* Unit tests for sdk/src/trace.c and span_encode.c: span lifecycle, parents, detail levels,
 * sampling, limits, and the OTLP encoding decoded back field by field. */
#include "testutil.h"

#include "core/mem.h"
#include "core/pb.h"
#include "osprey/osprey.h"
#include "trace_int.h"

#define TP_SAMPLED "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define TP_UNSAMPLED "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"

/* ---- A hand-built provider whose span batch hands ended spans to the test ---- */

typedef struct captured {
    pthread_mutex_t lock;
    struct osprey_span_data *spans[512];
    size_t n;
} captured;

static captured cap = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int cap_export(void *ctx, void *const *items, size_t n, uint64_t deadline_ns)
{
    return 0;
}

/* The batch frees each item after export: keep it instead, for the test to inspect. */
static void cap_free(void *ctx, void *item)
{
    captured *c = ctx;
    pthread_mutex_lock(&c->lock);
    assert_true(c->n < 512);
    c->spans[c->n++] = item;
    pthread_mutex_unlock(&c->lock);
}

static osprey_provider *provider_new(osprey_sampler_kind kind, double ratio)
{
    osprey_provider *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->config.sampler = kind;
    p->config.sampler_ratio = ratio;
    pthread_mutex_init(&p->lock, NULL);
    osprey__batch_config bc = {
        .max_queue = 1024, .max_batch = 512, .delay_ms = 60000, .export_timeout_ms = 5000};
    osprey__batch_ops ops = {.export = cap_export,
                             .free_item = cap_free,
                             .ctx = &cap,
                             .exported = &p->stats.spans_exported,
                             .dropped = &p->stats.spans_dropped};
    assert_int_equal(osprey__batch_create(&bc, &ops, &p->spans), 0);
    return p;
}

/* Flushes the batch: every ended span is then in cap. */
static void provider_sync(osprey_provider *p)
{
    assert_int_equal(osprey__batch_flush(p->spans, 5000), 0);
}

static void captured_clear(void)
{
    for (size_t i = 0; i < cap.n; i++)
        osprey__span_data_free(cap.spans[i]);
    cap.n = 0;
}

static void provider_free(osprey_provider *p)
{
    osprey__batch_destroy(p->spans, 5000);
    captured_clear();
    while (p->tracers) {
        osprey_tracer *t = p->tracers;
        p->tracers = t->next;
        osp_free(t->name);
        osp_free(t->version);
        osp_free(t);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static uint64_t stat(atomic_uint_fast64_t *v)
{
    return atomic_load(v);
}

static const uint8_t zero_id[16];

/* ---- Lifecycle and parents ---- */

static void test_parent_child(void **state)
{
    osprey_provider *p = provider_new(OSPREY_SAMPLER_ALWAYS_ON, 0);
    osprey_tracer *t = osprey_tracer_get(p, "lib", "1.0", OSPREY_DETAIL_BASE);
    osprey_span a = osprey_span_start(t, "a", NULL);
    assert_true(osprey_span_is_recording(&a));
    assert_true(osprey_span_context_valid(&a.context));
    assert_int_equal(a.context.trace_flags, 1);
    osprey_scope sa = osprey_span_attach(&a);
    osprey_span b = osprey_span_start(t, "b", NULL);
    assert_memory_equal(b.context.trace_id, a.context.trace_id, 16);
    assert_memory_not_equal(b.context.span_id, a.context.span_id, 8);
    osprey_scope sb = osprey_span_attach(&b);
    osprey_span c = osprey_span_start(t, "c", &(osprey_span_options){.kind = OSPREY_SPAN_CLIENT});
    osprey_detach(sb);
    osprey_span_end(&b, 0); /* ending a span that was current is safe */
    osprey_detach(sa);
    osprey_span d = osprey_span_start(t, "d", NULL);
    assert_memory_not_equal(d.context.trace_id, a.context.trace_id, 16);
    osprey_span_end(&c, 0);
    osprey_span_end(&d, 0);
    osprey_span_end(&a, 0);
    assert_null(a.data);
    assert_null(a.context.trace_state);
    osprey_span_end(&a, 0); /* twice: nothing */
    provider_sync(p);
    assert_int_equal(cap.n, 4);
    struct osprey_span_data *sb_d = cap.spans[0], *sc = cap.spans[1], *sd = cap.spans[2],
                            *sa_d = cap.spans[3];
    assert_string_equal(sb_d->name, "b");
    assert_string_equal(sc->name, "c");
    assert_string_equal(sd->name, "d");
    assert_string_equal(sa_d->name, "a");
    assert_memory_equal(sa_d->parent_span_id, zero_id, 8);
    assert_memory_equal(sb_d->parent_span_id, sa_d->span_id, 8);
    assert_memory_equal(sc->parent_span_id, sb_d->span_id, 8);
    assert_memory_equal(sc->trace_id, sa_d->trace_id, 16);
    assert_memory_equal(sd->parent_span_id, zero_id, 8);
    assert_int_equal(sc->kind, OSPREY_SPAN_CLIENT);
    assert_int_equal(sa_d->kind, OSPREY_SPAN_INTERNAL);
    assert_false(sb_d->parent_remote);
    for (size_t i = 0; i < 4; i++) {
        assert_ptr_equal(cap.spans[i]->tracer, t);
        assert_true(cap.spans[i]->start_ns > 0 && cap.spans[i]->end_ns >= cap.spans[i]->start_ns);
        assert_int_equal(cap.spans[i]->flags, 1);
    }
    assert_int_equal(stat(&p->stats.spans_started), 4);
    assert_int_equal(stat(&p->stats.spans_sampled_out), 0);
    provider_free(p);
}

static void test_explicit_parent_and_root(void **state)
{
    osprey_provider *p = provider_new(OSPREY_SAMPLER_PARENTBASED_ALWAYS_ON, 0);
    osprey_tracer *t = osprey_tracer_get(p, "lib", NULL, OSPREY_DETAIL_BASE);
    osprey_span req1 = osprey_span_start(t, "req1", NULL);
    osprey_span req2 = osprey_span_start(t, "req2", NULL);
    osprey_scope s = osprey_span_attach(&req2);
    /* Event-loop code: the explicit parent wins over the thread's current context. */
    osprey_span_options o = {.parent = &req1.context, .start_ns = 1000};
    osprey_span x = osprey_span_start(t, "x", &o);
    assert_memory_equal(x.context.trace_id, req1.context.trace_id, 16);
    assert_int_equal(x.data->start_ns, 1000);
    assert_memory_equal(x.data->parent_span_id, req1.context.span_id, 8);
    osprey_span r =
        osprey_span_start(t, "r", &(osprey_span_options){.root = true, .parent = &req1.context});
    assert_memory_not_equal(r.context.trace_id, req1.context.trace_id, 16);
    assert_memory_not_equal(r.context.trace_id, req2.context.trace_id, 16);
    assert_memory_equal(r.data->parent_span_id, zero_id, 8);
    osprey_span_context invalid = {0};
    osprey_span n = osprey_span_start(t, "n", &(osprey_span_options){.parent = &invalid});
    assert_memory_not_equal(n.context.trace_id, req2.context.trace_id, 16);
    assert_memory_equal(n.data->parent_span_id, zero_id, 8);
    osprey_detach(s);
    osprey_span_end(&x, 2000);
    osprey_span_end(&r, 0);
    osprey_span_end(&n, 0);
    osprey_span_end(&req1, 0);
    osprey_span_end(&req2, 0);
    provider_sync(p);
    assert_int_equal(cap.n, 5);
    assert_int_equal(cap.spans[0]->end_ns, 2000);
    provider_free(p);
}

static void test_remote_parent(void **state)
{
    osprey_provider *p = provider_new(OSPREY_SAMPLER_PARENTBASED_ALWAYS_ON, 0);
    osprey_tracer *t = osprey_tracer_get(p, "srv", NULL, OSPREY_DETAIL_BASE);
    osprey_span_context remote;
    assert_int_equal(osprey_traceparent_parse(TP_SAMPLED, &remote), 0);
    remote.is_remote = true;
    char ts[] = "vendor=1";
    remote.trace_state = ts;
    osprey_span s = osprey_span_start(t, "server", &(osprey_span_options){.parent = &remote});
    ts[0] = 'V';
    assert_true(osprey_span_is_recording(&s));
    assert_string_equal(s.context.trace_state, "vendor=1");
    assert_true(s.data->parent_remote);
    assert_memory_equal(s.data->parent_span_id, remote.span_id, 8);
    assert_memory_equal(s.context.trace_id, remote.trace_id, 16);
    osprey_span_end(&s, 0);
    /* An unsampled remote parent: dropped, but the context still propagates. */
    assert_int_equal(osprey_traceparent_parse(TP_UNSAMPLED, &remote), 0);
    size_t before = osp_mem_in_use();
    osprey_span u = osprey_span_start(t, "server", &(osprey_span_options){.parent = &remote});
    assert_int_equal(osp_mem_in_use(), before);
    assert_null(u.data);
    assert_false(osprey_span_is_recording(&u));
    assert_true(osprey_span_context_valid(&u.context));
    assert_memory_equal(u.context.trace_id, remote.trace_id, 16);
    assert_memory_not_equal(u.context.span_id, remote.span_id, 8);
    assert_int_equal(u.context.trace_flags & 1, 0);
    osprey_span_end(&u, 0);
    provider_sync(p);
    assert_int_equal(cap.n, 1);
    assert_int_equal(stat(&p->stats.spans_started), 1);
    assert_int_equal(stat(&p->stats.spans_sampled_out), 1);
    provider_free(p);
}

static void test_sampled_out_costs_nothing(void **state)
{
    osprey_provider *p = provider_new(OSPREY_SAMPLER_ALWAYS_OFF, 0);
    osprey_tracer *t = osprey_tracer_get(p, "lib", NULL, OSPREY_DETAIL_DETAILED);
    size_t before = osp_mem_in_use();
    osprey_span s = osprey_span_start(t, "x", NULL);
    assert_null(s.data);
    assert_true(osprey_span_context_valid(&s.context));
    assert_int_equal(s.context.trace_flags, 0);
    osprey_span_set_attr(&s, OSPREY_INT("k", 1));
    osprey_span_add_event(&s, "e", 0, NULL, 0);
    osprey_span_detail_event(&s, "d");
    osprey_span_add_link(&s, &s.context, NULL, 0);
    osprey_span_set_status(&s, OSPREY_STATUS_ERROR, "m");
    osprey_span_record_error(&s, "t", "m");
    osprey_span_update_name(&s, "y");
    osprey_span_end(&s, 0);
    assert_int_equal(osp_mem_in_use(), before);
    assert_int_equal(stat(&p->stats.spans_sampled_out), 1);
    assert_int_equal(stat(&p->stats.spans_started), 0);
    /* A child of the sampled-out span keeps its trace and is dropped by parent-based. */
    p->config.sampler = OSPREY_SAMPLER_PARENTBASED_ALWAYS_ON;
    osprey_span c = osprey_span_start(t, "c", &(osprey_span_options){.parent = &s.context});
    assert_null(c.data);
    assert_memory_equal(c.context.trace_id, s.context.trace_id, 16);
    provider_sync(p);
    assert_int_equal(cap.n, 0);
    provider_free(p);
}

static void test_detail_levels(void **state)
{
    osprey_provider *p = provider_new(OSPREY_SAMPLER_ALWAYS_ON, 0);
    osprey_tracer *t = osprey_tracer_get(p, "rpc", "2", OSPREY_DETAIL_DISABLED);
    assert_ptr_equal(osprey_tracer_get(p, "rpc", "2", OSPREY_DETAIL_DISABLED), t);
    assert_ptr_not_equal(osprey_tracer_get(p, "rpc", NULL, OSPREY_DETAIL_BASE), t);
    assert_ptr_not_equal(osprey_tracer_get(p, "rpc", "3", OSPREY_DETAIL_BASE), t);
    assert_null(osprey_tracer_get(p, NULL, NULL, OSPREY_DETAIL_BASE));
    /* DISABLED: nothing recorded, context still carried. */
    osprey_span off = osprey_span_start(t, "off", NULL);
    assert_null(off.data);
    assert_true(osprey_span_context_valid(&off.context));
    osprey_span_end(&off, 0);
    assert_int_equal(stat(&p->stats.spans_started) + stat(&p->stats.spans_sampled_out), 0);
    /* BASE (asking again sets the level): base spans yes, detailed spans and events no. */
    assert_ptr_equal(osprey_tracer_get(p, "rpc", "2", OSPREY_DETAIL_BASE), t);
    osprey_span base = osprey_span_start(t, "base", NULL);
    assert_non_null(base.data);
    osprey_span_detail_event(&base, "connect");
    osprey_span_options det = {.parent = &base.context, .detail = OSPREY_DETAIL_DETAILED};
    osprey_span d1 = osprey_span_start(t, "serialize", &det);
    assert_null(d1.data);
    assert_memory_equal(d1.context.trace_id, base.context.trace_id, 16);
    assert_memory_not_equal(d1.context.span_id, base.context.span_id, 8);
    assert_int_equal(d1.context.trace_flags & 1, 0);
    /* DETAILED: both. */
    osprey_tracer_set_detail(t, OSPREY_DETAIL_DETAILED);
    osprey_span_detail_event(&base, "first_byte");
    osprey_span d2 = osprey_span_start(t, "serialize", &det);
    assert_non_null(d2.data);
    osprey_span_end(&d2, 0);
    osprey_span_end(&base, 0);
    provider_sync(p);
    assert_int_equal(cap.n, 2);
    struct osprey_span_data *bd = cap.spans[1];
    assert_string_equal(bd->name, "base");
    assert_int_equal(bd->nevents, 1);
    assert_string_equal(bd->events[0].name, "first_byte");
    assert_memory_equal(cap.spans[0]->parent_span_id, bd->span_id, 8);
    provider_free(p);
}

static void test_status_and_errors(void **state)
{
    osprey_provider *p = provider_new(OSPREY_SAMPLER_ALWAYS_ON, 0);
    osprey_tracer *t = osprey_tracer_get(p, "lib", NULL, OSPREY_DETAIL_BASE);
    osprey_span a = osprey_span_start(t, "a", NULL);
    osprey_span_set_status(&a, OSPREY_STATUS_ERROR, "first");
    assert_int_equal(a.data->status, OSPREY_STATUS_ERROR);
    assert_string_equal(a.data->status_message, "first");
    osprey_span_set_status(&a, OSPREY_STATUS_UNSET, NULL); /* ignored */
    assert_int_equal(a.data->status, OSPREY_STATUS_ERROR);
    osprey_span_set_status(&a, OSPREY_STATUS_OK, "not kept");
    assert_int_equal(a.data->status, OSPREY_STATUS_OK);
    assert_null(a.data->status_message);
    osprey_span_set_status(&a, OSPREY_STATUS_ERROR, "late"); /* OK is final */
    assert_int_equal(a.data->status, OSPREY_STATUS_OK);
    assert_null(a.data->status_message);
    osprey_span b = osprey_span_start(t, "b", NULL);
    osprey_span_record_error(&b, "TimeoutError", "upstream timed out");
    osprey_span_update_name(&b, "b2");
    assert_string_equal(b.data->name, "b2");
    assert_int_equal(b.data->status, OSPREY_STATUS_ERROR);
    assert_string_equal(b.data->status_message, "upstream timed out");
    assert_string_equal(osprey__attrs_find(&b.data->attrs, "error.type")->v.s, "TimeoutError");
    assert_int_equal(b.data->nevents, 1);
    osprey__event *e = &b.data->events[0];
    assert_string_equal(e->name, "exception");
    assert_true(e->time_ns > 0);
    assert_int_equal(e->attrs.n, 2);
    assert_string_equal(osprey__attrs_find(&e->attrs, "exception.type")->v.s, "TimeoutError");
    assert_string_equal(osprey__attrs_find(&e->attrs, "exception.message")->v.s,
                        "upstream timed out");
    osprey_span_end(&a, 0);
    osprey_span_end(&b, 0);
    provider_free(p);
}

static void test_limits(void **state)
{
    osprey_provider *p = provider_new(OSPREY_SAMPLER_ALWAYS_ON, 0);
    osprey_tracer *t = osprey_tracer_get(p, "lib", NULL, OSPREY_DETAIL_BASE);
    osprey_attr start_attrs[] = {OSPREY_STR("first", "1")};
    osprey_span s =
        osprey_span_start(t, "s", &(osprey_span_options){.attrs = start_attrs, .nattrs = 1});
    char key[32];
    for (int i = 0; i < 130; i++) {
        snprintf(key, sizeof key, "key.%d", i);
        osprey_span_set_attr(&s, OSPREY_INT(key, i));
        osprey_span_add_event(&s, key, 0, &OSPREY_INT("i", i), 1);
        osprey_span_add_link(&s, &s.context, &OSPREY_INT("i", i), 1);
    }
    osprey_span_set_attr(&s, OSPREY_STR("first", "replaced")); /* at the limit: replaces */
    struct osprey_span_data *d = s.data;
    assert_int_equal(d->attrs.n, OSPREY__SPAN_ATTR_LIMIT);
    assert_int_equal(d->attrs.dropped, 3);
    assert_string_equal(osprey__attrs_find(&d->attrs, "first")->v.s, "replaced");
    assert_int_equal(osprey__attrs_find(&d->attrs, "key.126")->v.i, 126);
    assert_null(osprey__attrs_find(&d->attrs, "key.127"));
    assert_int_equal(d->nevents, OSPREY__SPAN_EVENT_LIMIT);
    assert_int_equal(d->dropped_events, 2);
    assert_string_equal(d->events[127].name, "key.127");
    assert_int_equal(d->events[127].attrs.items[0].v.i, 127);
    assert_int_equal(d->nlinks, OSPREY__SPAN_LINK_LIMIT);
    assert_int_equal(d->dropped_links, 2);
    assert_memory_equal(d->links[5].span_id, s.context.span_id, 8);
    assert_int_equal(d->links[5].attrs.items[0].v.i, 5);
    osprey_span_end(&s, 0);
    provider_free(p);
}

static void test_out_of_memory(void **state)
{
    osprey_provider *p = provider_new(OSPREY_SAMPLER_ALWAYS_ON, 0);
    osprey_tracer *t = osprey_tracer_get(p, "lib", NULL, OSPREY_DETAIL_BASE);
    size_t before = osp_mem_in_use();
    osp_mem_fail_after(1);
    osprey_span s = osprey_span_start(t, "s", NULL);
    osp_mem_fail_after(0);
    assert_null(s.data);
    assert_true(osprey_span_context_valid(&s.context));
    assert_int_equal(s.context.trace_flags & 1, 0);
    assert_int_equal(stat(&p->stats.spans_dropped), 1);
    assert_int_equal(osp_mem_in_use(), before);
    /* A long name outgrows the pool: the heap fallback failing also drops the span. */
    char name[2048];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    osp_mem_fail_after(2);
    s = osprey_span_start(t, name, NULL);
    osp_mem_fail_after(0);
    assert_null(s.data);
    assert_int_equal(osp_mem_in_use(), before);
    /* An event that cannot be stored is counted. */
    s = osprey_span_start(t, name, NULL);
    assert_string_equal(s.data->name, name);
    osp_mem_fail_after(1);
    osprey_span_add_event(&s, name, 0, NULL, 0);
    osp_mem_fail_after(0);
    assert_int_equal(s.data->nevents, 0);
    assert_int_equal(s.data->dropped_events, 1);
    osprey_span_end(&s, 0);
    provider_free(p);
}

/* ---- Encoding ---- */

typedef struct fields {
    osp_pb_field f[64];
    size_t n;
} fields;

/* Every field of a message, in order. */
static void decode(osp_str msg, fields *out)
{
    osp_pb_reader r = osp_pb_reader_make(msg.p, msg.n);
    out->n = 0;
    int rc;
    while ((rc = osp_pb_next(&r, &out->f[out->n])) == 1) {
        assert_true(out->n < 63);
        out->n++;
    }
    assert_int_equal(rc, 0);
}

/* The only field num (asserting there is exactly one). */
static osp_pb_field one(const fields *fs, uint32_t num)
{
    osp_pb_field found = {0};
    int count = 0;
    for (size_t i = 0; i < fs->n; i++)
        if (fs->f[i].num == num) {
            found = fs->f[i];
            count++;
        }
    if (count != 1)
        fail_msg("field %u appears %d times", num, count);
    return found;
}

static size_t count(const fields *fs, uint32_t num)
{
    size_t n = 0;
    for (size_t i = 0; i < fs->n; i++)
        n += fs->f[i].num == num;
    return n;
}

static osp_pb_field nth(const fields *fs, uint32_t num, size_t k)
{
    for (size_t i = 0; i < fs->n; i++)
        if (fs->f[i].num == num && k-- == 0)
            return fs->f[i];
    fail_msg("field %u missing", num);
    return (osp_pb_field){0};
}

/* Checks a KeyValue: key and the string or int value. */
static void check_kv_str(osp_pb_field kv, const char *key, const char *value)
{
    fields k, v;
    decode(kv.bytes, &k);
    assert_true(osp_str_eqz(one(&k, 1).bytes, key));
    decode(one(&k, 2).bytes, &v);
    assert_true(osp_str_eqz(one(&v, 1).bytes, value));
}

static void check_kv_int(osp_pb_field kv, const char *key, int64_t value)
{
    fields k, v;
    decode(kv.bytes, &k);
    assert_true(osp_str_eqz(one(&k, 1).bytes, key));
    decode(one(&k, 2).bytes, &v);
    assert_int_equal((int64_t)one(&v, 3).u64, value);
}

static void check_bytes(osp_pb_field f, const uint8_t *want, size_t n)
{
    assert_int_equal(f.wire, OSP_PB_LEN);
    assert_int_equal(f.bytes.n, n);
    assert_memory_equal(f.bytes.p, want, n);
}

static void test_encode_spans(void **state)
{
    osprey_provider *p = provider_new(OSPREY_SAMPLER_PARENTBASED_ALWAYS_ON, 0);
    osprey_tracer *ta = osprey_tracer_get(p, "scope.a", "1.2", OSPREY_DETAIL_BASE);
    osprey_tracer *tb = osprey_tracer_get(p, "scope.b", NULL, OSPREY_DETAIL_BASE);
    osprey_span_context remote;
    assert_int_equal(osprey_traceparent_parse(TP_SAMPLED, &remote), 0);
    remote.is_remote = true;
    remote.trace_state = "v=1";
    osprey_span_context linked = remote;
    linked.span_id[0] = 0x77;
    linked.trace_state = "l=2";
    osprey_link link = {.context = linked, .attrs = &OSPREY_STR("why", "batch"), .nattrs = 1};
    osprey_span_options o = {.kind = OSPREY_SPAN_SERVER,
                             .parent = &remote,
                             .start_ns = 111,
                             .attrs = &OSPREY_STR("http.route", "/x"),
                             .nattrs = 1,
                             .links = &link,
                             .nlinks = 1};
    osprey_span s1 = osprey_span_start(ta, "GET /x", &o);
    osprey_span_set_attr(&s1, OSPREY_INT("http.status", 500));
    osprey_span_add_event(&s1, "retry", 150, &OSPREY_INT("n", 2), 1);
    osprey_span_set_status(&s1, OSPREY_STATUS_ERROR, "boom");
    osprey_span s2 = osprey_span_start(tb, "other", &(osprey_span_options){.start_ns = 5});
    osprey_span s3 = osprey_span_start(
        ta, "child", &(osprey_span_options){.parent = &s1.context, .start_ns = 120});
    osprey_span_set_status(&s3, OSPREY_STATUS_OK, NULL);
    osprey_span_end(&s3, 130);
    osprey_span_end(&s2, 6);
    osprey_span_end(&s1, 200);
    provider_sync(p);
    assert_int_equal(cap.n, 3); /* s3 (a), s2 (b), s1 (a) */
    osprey__attrs res = {0};
    assert_int_equal(osprey__attrs_set(&res, &OSPREY_STR("service.name", "svc"), 1, 0), 0);
    res.dropped = 4;
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osprey__encode_spans(&b, &res, cap.spans, cap.n), 0);

    fields req, rs, resource, ss, scope;
    decode(osp_buf_str(&b), &req);
    assert_int_equal(req.n, 1);
    decode(one(&req, 1).bytes, &rs);
    assert_int_equal(rs.n, 3); /* resource and two ScopeSpans */
    decode(one(&rs, 1).bytes, &resource);
    assert_int_equal(resource.n, 2);
    check_kv_str(one(&resource, 1), "service.name", "svc");
    assert_int_equal(one(&resource, 2).u64, 4);
    assert_int_equal(count(&rs, 2), 2);

    /* First ScopeSpans: scope.a with s3 then s1 (batch order kept). */
    decode(nth(&rs, 2, 0).bytes, &ss);
    assert_int_equal(ss.n, 3);
    decode(one(&ss, 1).bytes, &scope);
    assert_int_equal(scope.n, 2);
    assert_true(osp_str_eqz(one(&scope, 1).bytes, "scope.a"));
    assert_true(osp_str_eqz(one(&scope, 2).bytes, "1.2"));
    assert_int_equal(count(&ss, 2), 2);

    fields sp;
    struct osprey_span_data *d3 = cap.spans[0], *d1 = cap.spans[2];
    decode(nth(&ss, 2, 0).bytes, &sp); /* s3: local parent s1, status OK */
    assert_int_equal(sp.n, 10);
    check_bytes(one(&sp, 1), d3->trace_id, 16);
    check_bytes(one(&sp, 2), d3->span_id, 8);
    assert_true(osp_str_eqz(one(&sp, 3).bytes, "v=1"));
    check_bytes(one(&sp, 4), d1->span_id, 8);
    assert_true(osp_str_eqz(one(&sp, 5).bytes, "child"));
    assert_int_equal(one(&sp, 6).u64, OSPREY_SPAN_INTERNAL);
    assert_int_equal(one(&sp, 7).wire, OSP_PB_I64);
    assert_int_equal(one(&sp, 7).u64, 120);
    assert_int_equal(one(&sp, 8).u64, 130);
    fields st;
    decode(one(&sp, 15).bytes, &st);
    assert_int_equal(st.n, 1);
    assert_int_equal(one(&st, 3).u64, OSPREY_STATUS_OK);
    assert_int_equal(one(&sp, 16).wire, OSP_PB_I32);
    assert_int_equal(one(&sp, 16).u64, 0x101); /* sampled, has-is-remote, local parent */

    decode(nth(&ss, 2, 1).bytes, &sp); /* s1: remote parent, everything */
    assert_int_equal(sp.n, 14);
    check_bytes(one(&sp, 1), remote.trace_id, 16);
    check_bytes(one(&sp, 2), d1->span_id, 8);
    assert_true(osp_str_eqz(one(&sp, 3).bytes, "v=1"));
    check_bytes(one(&sp, 4), remote.span_id, 8);
    assert_true(osp_str_eqz(one(&sp, 5).bytes, "GET /x"));
    assert_int_equal(one(&sp, 6).u64, OSPREY_SPAN_SERVER);
    assert_int_equal(one(&sp, 7).u64, 111);
    assert_int_equal(one(&sp, 8).u64, 200);
    assert_int_equal(count(&sp, 9), 2);
    check_kv_str(nth(&sp, 9, 0), "http.route", "/x");
    check_kv_int(nth(&sp, 9, 1), "http.status", 500);
    fields ev;
    decode(one(&sp, 11).bytes, &ev);
    assert_int_equal(ev.n, 3);
    assert_int_equal(one(&ev, 1).wire, OSP_PB_I64);
    assert_int_equal(one(&ev, 1).u64, 150);
    assert_true(osp_str_eqz(one(&ev, 2).bytes, "retry"));
    check_kv_int(one(&ev, 3), "n", 2);
    fields lk;
    decode(one(&sp, 13).bytes, &lk);
    assert_int_equal(lk.n, 5);
    check_bytes(one(&lk, 1), linked.trace_id, 16);
    check_bytes(one(&lk, 2), linked.span_id, 8);
    assert_true(osp_str_eqz(one(&lk, 3).bytes, "l=2"));
    check_kv_str(one(&lk, 4), "why", "batch");
    assert_int_equal(one(&lk, 6).wire, OSP_PB_I32);
    assert_int_equal(one(&lk, 6).u64, 1);
    decode(one(&sp, 15).bytes, &st);
    assert_int_equal(st.n, 2);
    assert_true(osp_str_eqz(one(&st, 2).bytes, "boom"));
    assert_int_equal(one(&st, 3).u64, OSPREY_STATUS_ERROR);
    assert_int_equal(one(&sp, 16).u64, 0x301); /* sampled, has-is-remote, is-remote */
    /* The dropped counts (10, 12, 14) are 0 and left out: the 14 fields counted above are
     * 1-8, two attributes, event, link, status, flags. */
    assert_int_equal(count(&sp, 10) + count(&sp, 12) + count(&sp, 14), 0);

    /* Second ScopeSpans: scope.b without a version, root span s2. */
    decode(nth(&rs, 2, 1).bytes, &ss);
    decode(one(&ss, 1).bytes, &scope);
    assert_int_equal(scope.n, 1);
    assert_true(osp_str_eqz(one(&scope, 1).bytes, "scope.b"));
    assert_int_equal(count(&ss, 2), 1);
    decode(one(&ss, 2).bytes, &sp);
    assert_int_equal(sp.n, 7); /* ids, name, kind, times, flags */
    check_bytes(one(&sp, 1), cap.spans[1]->trace_id, 16);
    assert_true(osp_str_eqz(one(&sp, 5).bytes, "other"));
    assert_int_equal(one(&sp, 7).u64, 5);
    assert_int_equal(one(&sp, 8).u64, 6);
    assert_int_equal(one(&sp, 16).u64, 0x101);
    assert_int_equal(count(&sp, 4), 0);

    osp_buf_cleanup(&b);
    osprey__attrs_cleanup(&res);
    provider_free(p);
}

static void test_encode_dropped_counts(void **state)
{
    osprey_provider *p = provider_new(OSPREY_SAMPLER_ALWAYS_ON, 0);
    osprey_tracer *t = osprey_tracer_get(p, "lib", NULL, OSPREY_DETAIL_BASE);
    osprey_span s = osprey_span_start(t, "s", NULL);
    s.data->attrs.dropped = 3;
    s.data->dropped_events = 4;
    s.data->dropped_links = 5;
    osprey_span_add_event(&s, "e", 1, NULL, 0);
    s.data->events[0].attrs.dropped = 6;
    osprey_span_end(&s, 0);
    provider_sync(p);
    osprey__attrs res = {0};
    osp_buf b;
    osp_buf_init(&b, 0);
    assert_int_equal(osprey__encode_spans(&b, &res, cap.spans, cap.n), 0);
    fields req, rs, ss, sp, ev;
    decode(osp_buf_str(&b), &req);
    decode(one(&req, 1).bytes, &rs);
    assert_int_equal(one(&rs, 1).bytes.n, 0); /* empty resource */
    decode(one(&rs, 2).bytes, &ss);
    decode(one(&ss, 2).bytes, &sp);
    assert_int_equal(one(&sp, 10).u64, 3);
    assert_int_equal(one(&sp, 12).u64, 4);
    assert_int_equal(one(&sp, 14).u64, 5);
    decode(one(&sp, 11).bytes, &ev);
    assert_int_equal(one(&ev, 4).u64, 6);
    osp_buf_cleanup(&b);
    provider_free(p);
}

static void test_console_spans(void **state)
{
    osprey_provider *p = provider_new(OSPREY_SAMPLER_ALWAYS_ON, 0);
    osprey_tracer *t = osprey_tracer_get(p, "lib", NULL, OSPREY_DETAIL_BASE);
    osprey_span s = osprey_span_start(t, "con\"sole", NULL);
    osprey_span_set_attr(&s, OSPREY_DOUBLE("d", 0.5));
    osprey_span_end(&s, 0);
    provider_sync(p);
    /* Capture stderr through a pipe and check the line. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fds[1], 2);
    assert_int_equal(osprey__console_spans(cap.spans, cap.n), 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    char line[4096] = {0};
    ssize_t n = read(fds[0], line, sizeof line - 1);
    close(fds[0]);
    assert_true(n > 0);
    char tid[33];
    osprey__hex(cap.spans[0]->trace_id, 16, tid);
    assert_non_null(strstr(line, "\"name\":\"con\\\"sole\""));
    assert_non_null(strstr(line, tid));
    assert_non_null(strstr(line, "\"attributes\":{\"d\":0.5}"));
    assert_non_null(strstr(line, "\"kind\":\"INTERNAL\""));
    assert_int_equal(line[n - 1], '\n');
    assert_null(memchr(line, '\n', (size_t)n - 1)); /* one line */
    provider_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parent_child),  cmocka_unit_test(test_explicit_parent_and_root),
        cmocka_unit_test(test_remote_parent), cmocka_unit_test(test_sampled_out_costs_nothing),
        cmocka_unit_test(test_detail_levels), cmocka_unit_test(test_status_and_errors),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_encode_spans),  cmocka_unit_test(test_encode_dropped_counts),
        cmocka_unit_test(test_console_spans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
