/* Unit tests for proto/remote_write: hand-encoded WriteRequests (snappy-compressed) covering
 * every field, packed and unpacked repeated scalars, and every rejection path; decoded
 * native histograms converted for the store. */
#include "testutil.h"

#include <math.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/pb.h"
#include "proto/pbsnappy.h"
#include "proto/remote_write.h"

/* ---- message building ---- */

static uint64_t zz(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static void label(const char *k, const char *v)
{
    O(1), S(1, k), S(2, v), C();
}
static void sample(double v, int64_t t)
{
    O(2), D(1, v), U(2, (uint64_t)t), C();
}

typedef struct ctx {
    osp_arena arena;
    osp_rw_request req;
    char err[256];
} ctx;

/* Compresses the built message and decodes it. */
static int decode(ctx *c)
{
    osp_str body = compress();
    osp_arena_init(&c->arena, 0, 0);
    int rc =
        osp_remote_write_decode(body, 1 << 20, &c->arena, NULL, &c->req, c->err, sizeof c->err);
    free((void *)body.p);
    return rc;
}

/* A store that knows the keys in keys[0..n) as refs 1..n, and records what it was asked. */
typedef struct fake_known {
    osp_series_key keys[8];
    size_t n, asked;
} fake_known;

static void fake_lookup(void *p, const osp_series_key *keys, size_t n, uint64_t *refs)
{
    fake_known *k = p;
    k->asked += n;
    for (size_t i = 0; i < n; i++) {
        refs[i] = 0;
        for (size_t j = 0; j < k->n; j++)
            if (keys[i].lo == k->keys[j].lo && keys[i].hi == k->keys[j].hi)
                refs[i] = j + 1;
    }
}

static int decode_known(ctx *c, fake_known *k)
{
    osp_str body = compress();
    osp_rw_known known = {fake_lookup, k};
    osp_arena_init(&c->arena, 0, 0);
    int rc =
        osp_remote_write_decode(body, 1 << 20, &c->arena, &known, &c->req, c->err, sizeof c->err);
    free((void *)body.p);
    return rc;
}

static int decode_raw(ctx *c, const void *p, size_t n, size_t max)
{
    osp_arena_init(&c->arena, 0, 0);
    return osp_remote_write_decode(osp_str_make(p, n), max, &c->arena, NULL, &c->req, c->err,
                                   sizeof c->err);
}

static void done(ctx *c)
{
    osp_arena_cleanup(&c->arena);
}

static void assert_str(osp_str s, const char *z)
{
    if (!osp_str_eqz(s, z))
        fail_msg("got \"%.*s\", want \"%s\"", OSP_STR_FMT(s), z);
}

/* The slice lies inside the decompressed buffer. */
static void assert_inside(const ctx *c, osp_str s)
{
    if (s.n)
        assert_true(s.p >= c->req.raw.p && s.p + s.n <= c->req.raw.p + c->req.raw.n);
}

/* ---- tests ---- */

static void test_every_field(void **state)
{
    (void)state;
    begin();
    /* series 0: labels, samples (one stale marker), an exemplar */
    O(1);
    label("__name__", "http_requests_total");
    label("code", "200");
    label("job", "api");
    sample(1.5, 1000);
    sample(-2.25, -5);
    uint64_t stale = 0x7ff0000000000002ull;
    O(2), assert_int_equal(osp_pb_put_fixed64(&W, 1, stale), 0), U(2, 3000), C();
    O(3), label("trace_id", "abc"), label("empty", ""), D(2, 0.5), U(3, 999), C();
    C();
    /* series 1: an integer histogram (packed deltas) and a float one (unpacked counts) */
    O(1);
    label("__name__", "rpc_seconds");
    O(4);
    U(1, 10);
    D(3, 12.5);
    U(4, zz(-2));
    D(5, 0.001);
    U(6, 3);
    O(8), U(1, zz(-1)), U(2, 2), C();
    O(9);
    int64_t nd[] = {1, -1};
    for (int i = 0; i < 2; i++)
        assert_int_equal(osp_pb_put_varint(&W, zz(nd[i])), 0);
    C();
    O(11), U(1, zz(3)), U(2, 1), C();
    O(11), U(1, zz(2)), U(2, 2), C();
    O(12);
    int64_t pd[] = {5, -3, 1000000};
    for (int i = 0; i < 3; i++)
        assert_int_equal(osp_pb_put_varint(&W, zz(pd[i])), 0);
    C();
    U(14, 2);
    U(15, 123456);
    C();
    O(4);
    D(2, 7.5);
    D(7, 0.25);
    U(4, zz(-53));
    O(11), U(1, 0), U(2, 3), C();
    D(13, 1.0), D(13, 2.0), D(13, 3.0);
    O(16);
    double cv[] = {0.1, 1, 10};
    RAW((const char *)cv, sizeof cv);
    C();
    U(14, 3);
    C();
    C();
    /* metadata */
    O(3), U(1, 1), S(2, "http_requests_total"), S(4, "Requests."), S(5, "1"), C();
    O(3), U(1, 3), S(2, "rpc_seconds"), C();
    ctx c;
    assert_int_equal(decode(&c), 0);
    assert_string_equal(c.err, "");
    osp_rw_request *r = &c.req;
    assert_int_equal(r->nseries, 2);
    assert_int_equal(r->nrejected, 0);

    osp_rw_series *s = &r->series[0];
    assert_int_equal(s->nlabels, 3);
    assert_str(s->labels[0].name, "__name__");
    assert_str(s->labels[0].value, "http_requests_total");
    assert_str(s->labels[1].name, "code");
    assert_str(s->labels[1].value, "200");
    assert_str(s->labels[2].name, "job");
    assert_str(s->labels[2].value, "api");
    for (size_t i = 0; i < s->nlabels; i++)
        assert_inside(&c, s->labels[i].name), assert_inside(&c, s->labels[i].value);
    assert_int_equal(s->nsamples, 3);
    assert_true(s->samples[0].v == 1.5 && s->samples[0].t_ms == 1000);
    assert_true(s->samples[1].v == -2.25 && s->samples[1].t_ms == -5);
    uint64_t bits;
    memcpy(&bits, &s->samples[2].v, 8);
    assert_true(bits == stale && s->samples[2].t_ms == 3000);
    assert_int_equal(s->nexemplars, 1);
    assert_int_equal(s->exemplars[0].nlabels, 1); /* the empty-valued pair is dropped */
    assert_str(s->exemplars[0].labels[0].name, "trace_id");
    assert_str(s->exemplars[0].labels[0].value, "abc");
    assert_true(s->exemplars[0].value == 0.5 && s->exemplars[0].t_ms == 999);
    assert_int_equal(s->nhistograms, 0);

    s = &r->series[1];
    assert_int_equal(s->nlabels, 1);
    assert_int_equal(s->nsamples, 0);
    assert_int_equal(s->nhistograms, 2);
    osp_rw_histogram *h = &s->histograms[0];
    assert_false(h->is_float);
    assert_int_equal(h->count_int, 10);
    assert_true(h->sum == 12.5);
    assert_int_equal(h->schema, -2);
    assert_true(h->zero_threshold == 0.001);
    assert_false(h->zero_is_float);
    assert_int_equal(h->zero_count_int, 3);
    assert_int_equal(h->nneg_spans, 1);
    assert_int_equal(h->neg_spans[0].offset, -1);
    assert_int_equal(h->neg_spans[0].length, 2);
    assert_int_equal(h->nneg_deltas, 2);
    assert_int_equal(h->neg_deltas[0], 1);
    assert_int_equal(h->neg_deltas[1], -1);
    assert_int_equal(h->npos_spans, 2);
    assert_int_equal(h->pos_spans[0].offset, 3);
    assert_int_equal(h->pos_spans[1].offset, 2);
    assert_int_equal(h->pos_spans[1].length, 2);
    assert_int_equal(h->npos_deltas, 3);
    assert_int_equal(h->pos_deltas[0], 5);
    assert_int_equal(h->pos_deltas[1], -3);
    assert_int_equal(h->pos_deltas[2], 1000000);
    assert_int_equal(h->nneg_counts + h->npos_counts + h->ncustom_values, 0);
    assert_int_equal(h->reset_hint, OSP_RW_RESET_NO);
    assert_int_equal(h->t_ms, 123456);
    h = &s->histograms[1];
    assert_true(h->is_float && h->count_float == 7.5);
    assert_true(h->zero_is_float && h->zero_count_float == 0.25);
    assert_int_equal(h->schema, -53);
    assert_int_equal(h->npos_counts, 3);
    assert_true(h->pos_counts[0] == 1 && h->pos_counts[1] == 2 && h->pos_counts[2] == 3);
    assert_int_equal(h->ncustom_values, 3);
    assert_true(h->custom_values[0] == 0.1 && h->custom_values[2] == 10);
    assert_int_equal(h->reset_hint, OSP_RW_RESET_GAUGE);
    assert_int_equal(h->t_ms, 0);

    assert_int_equal(r->nmetadata, 2);
    assert_int_equal(r->metadata[0].type, OSP_RW_COUNTER);
    assert_str(r->metadata[0].family, "http_requests_total");
    assert_str(r->metadata[0].help, "Requests.");
    assert_str(r->metadata[0].unit, "1");
    assert_inside(&c, r->metadata[0].help);
    assert_int_equal(r->metadata[1].type, OSP_RW_HISTOGRAM);
    assert_str(r->metadata[1].family, "rpc_seconds");
    assert_int_equal(r->metadata[1].help.n, 0);
    done(&c);
}

/* Unpacked sint64 deltas, packed double counts, unknown fields of every wire type, fields
 * in any order, last scalar wins. */
static void test_unpacked_and_unknown(void **state)
{
    (void)state;
    ctx c;
    /* packed doubles whose length is not a multiple of 8 */
    begin();
    O(1), label("__name__", "f"), O(4), O(10), RAW("12345678901", 11), C(), C(), C();
    assert_int_equal(decode(&c), OSP_EPARSE);
    assert_non_null(strstr(c.err, "Histogram field 10: packed doubles of 11 bytes"));
    done(&c);

    begin();
    O(1);
    label("__name__", "m");
    label("a", "y");
    O(4);
    O(13);
    double pc[] = {4, 5};
    RAW((const char *)pc, sizeof pc);
    C();
    O(11), U(2, 2), C();
    C();
    C();
    assert_int_equal(decode(&c), 0);
    assert_int_equal(c.req.nseries, 1);
    osp_rw_histogram *h = &c.req.series[0].histograms[0];
    assert_true(h->npos_counts == 2 && h->pos_counts[1] == 5);
    done(&c);

    begin();
    U(2, 7);
    O(1);
    O(4);
    O(11), U(1, 0), U(2, 2), C();
    U(12, zz(4)), U(12, zz(-4));
    U(99, 1);
    U(1, 1), U(1, 2);
    C();
    O(2), U(2, 5), D(1, 9), U(7, 1), C();
    label("__name__", "m");
    O(1), S(1, "a"), S(2, "x"), S(2, "y"), S(3, "?"), C();
    assert_int_equal(osp_pb_put_fixed32(&W, 77, 3), 0);
    C();
    assert_int_equal(decode(&c), 0);
    assert_int_equal(c.req.nseries, 1);
    osp_rw_series *s = &c.req.series[0];
    assert_int_equal(s->nlabels, 2);
    assert_str(s->labels[1].value, "y");
    assert_true(s->nsamples == 1 && s->samples[0].v == 9 && s->samples[0].t_ms == 5);
    h = &s->histograms[0];
    assert_int_equal(h->count_int, 2);
    assert_true(h->npos_deltas == 2 && h->pos_deltas[0] == 4 && h->pos_deltas[1] == -4);
    done(&c);
}

/* Labels in other layouts than name-then-value with short lengths decode the same. */
static void test_label_layouts(void **state)
{
    (void)state;
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    begin();
    O(1);
    O(1), S(2, "m:x"), S(1, "__name__"), C(); /* value first */
    O(1), S(1, "a"), S(2, big), C();          /* two-byte length */
    O(1), S(1, "b"), C();                     /* no value: dropped */
    O(1), S(1, "c"), S(2, "1"), U(9, 4), C(); /* an unknown field after */
    sample(1, 1);
    C();
    ctx c;
    assert_int_equal(decode(&c), 0);
    assert_int_equal(c.req.nseries, 1);
    osp_rw_series *s = &c.req.series[0];
    assert_int_equal(s->nlabels, 3);
    assert_str(s->labels[0].name, "__name__");
    assert_str(s->labels[0].value, "m:x");
    assert_str(s->labels[1].value, big);
    assert_str(s->labels[2].name, "c");
    assert_str(s->labels[2].value, "1");
    done(&c);
}

/* Series keys: equal Label bytes give equal keys, scattered Label fields none; a known
 * key skips the label checks (its bytes passed them before) and only drops empty values. */
static void test_known_series(void **state)
{
    (void)state;
    fake_known k = {0};
    ctx c;
    begin();
    O(1), label("__name__", "m"), label("a", "1"), sample(1, 1), C();
    O(1), label("__name__", "m"), label("a", "1"), sample(2, 2), C();
    O(1), label("__name__", "m"), label("a", "2"), sample(3, 3), C();
    O(1), label("__name__", "m"), sample(4, 4), label("a", "3"), C(); /* scattered */
    O(1), label("a", "1"), label("__name__", "m"), sample(5, 5), C(); /* unsorted */
    assert_int_equal(decode_known(&c, &k), 0);
    assert_int_equal(k.asked, 5); /* every series is asked about before any check */
    assert_int_equal(c.req.nseries, 4);
    assert_int_equal(c.req.nrejected, 1);
    assert_non_null(strstr(c.err, "series 4: labels not sorted"));
    osp_rw_series *s = c.req.series;
    assert_true(s[0].key.lo == s[1].key.lo && s[0].key.hi == s[1].key.hi);
    assert_true(s[0].key.lo != s[2].key.lo || s[0].key.hi != s[2].key.hi);
    assert_true((s[0].key.lo | s[0].key.hi) && (s[2].key.lo | s[2].key.hi));
    assert_true(s[3].key.lo == 0 && s[3].key.hi == 0);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(s[i].ref, 0);
    done(&c);
    /* a set the store knows is taken as it is (here an unsorted one: no check ran), its
     * empty values dropped; other bytes of it are checked */
    begin();
    label("a", "1"), label("__name__", "m"), label("z", "");
    k.keys[k.n++] = osp_series_key_of(OSP_KEY_REMOTE_WRITE, W.data, W.len);
    osp_buf_cleanup(&W);
    begin();
    O(1), label("a", "1"), label("__name__", "m"), label("z", ""), sample(5, 5), C();
    O(1), label("a", "1"), label("__name__", "m"), sample(6, 6), C();
    assert_int_equal(decode_known(&c, &k), 0);
    assert_int_equal(c.req.nseries, 1);
    assert_int_equal(c.req.nrejected, 1);
    assert_non_null(strstr(c.err, "series 1: labels not sorted"));
    s = c.req.series;
    assert_int_equal(s[0].ref, 1);
    assert_int_equal(s[0].nlabels, 2);
    assert_str(s[0].labels[0].name, "a");
    assert_true(s[0].nsamples == 1 && s[0].samples[0].v == 5);
    done(&c);
}

/* Series past the sizes read in one pass, parts after the labels, and timestamps of every
 * varint length decode as the small ones do. */
static void test_series_sizes(void **state)
{
    (void)state;
    static const int64_t ts[] = {0, 1, 1700000000000, (int64_t)1 << 62, -1, INT64_MIN};
    char name[16];
    ctx c;
    begin();
    O(1);
    label("__name__", "wide");
    for (int i = 0; i < 40; i++)
        snprintf(name, sizeof name, "l%02d", i), label(name, "v");
    for (int i = 0; i < 20; i++)
        sample(i, i);
    C();
    O(1), label("__name__", "ex"), O(3), label("trace_id", "t"), D(2, 1), U(3, 1), C();
    label("z", "1"), sample(7, 1), C();
    O(1), label("__name__", "ts");
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        sample((double)i + 0.5, ts[i]);
    C();
    assert_int_equal(decode(&c), 0);
    assert_int_equal(c.req.nseries, 3);
    osp_rw_series *s = c.req.series;
    assert_true(s[0].nlabels == 41 && s[0].nsamples == 20);
    assert_str(s[0].labels[40].name, "l39");
    assert_true(s[0].samples[19].v == 19 && s[0].samples[19].t_ms == 19);
    assert_true(s[1].nlabels == 2 && s[1].nexemplars == 1 && s[1].nsamples == 1);
    assert_str(s[1].exemplars[0].labels[0].name, "trace_id");
    assert_str(s[1].labels[1].name, "z");
    assert_int_equal(s[2].nsamples, sizeof ts / sizeof ts[0]);
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++)
        assert_true(s[2].samples[i].t_ms == ts[i] && s[2].samples[i].v == (double)i + 0.5);
    done(&c);
}

static void test_empty_request(void **state)
{
    (void)state;
    begin();
    ctx c;
    assert_int_equal(decode(&c), 0);
    assert_int_equal(c.req.nseries + c.req.nmetadata + c.req.nrejected, 0);
    done(&c);
}

/* One request with a series per rule violation between two valid series. */
static void test_series_rejections(void **state)
{
    (void)state;
    static const struct {
        const char *labels[8]; /* name, value pairs, NULL-terminated */
        const char *why;
    } cases[] = {
        {{"__name__", "m", "b", "1", "a", "2", NULL}, "series 1: labels not sorted"},
        {{"__name__", "m", "a", "1", "a", "2", NULL}, "series 1: duplicate label name \"a\""},
        {{"__name__", "m", "1a", "1", NULL}, "series 1: invalid label name \"1a\""},
        {{"__name__", "m", "a.b", "1", NULL}, "series 1: invalid label name"},
        {{"__name__", "m", "caf\xc3\xa9", "1", NULL}, "series 1: invalid label name"},
        {{"__name__", "m", "", "1", NULL}, "series 1: invalid label name \"\""},
        {{"a", "1", NULL}, "series 1: no __name__ label"},
        {{"__name__", "", "a", "1", NULL}, "series 1: no __name__ label"},
        {{"__name__", "9m", NULL}, "series 1: invalid metric name"},
        {{"__name__", "m", "a", "\xff", NULL}, "not valid UTF-8"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        begin();
        O(1), label("__name__", "ok0"), sample(1, 1), C();
        O(1);
        for (size_t i = 0; cases[k].labels[i]; i += 2)
            label(cases[k].labels[i], cases[k].labels[i + 1]);
        sample(2, 2);
        C();
        O(1), label("__name__", "ok:2"), label("z", ""), sample(3, 3), C();
        ctx c;
        assert_int_equal(decode(&c), 0);
        if (!strstr(c.err, cases[k].why))
            fail_msg("case %zu: got \"%s\", want \"%s\"", k, c.err, cases[k].why);
        assert_int_equal(c.req.nrejected, 1);
        assert_int_equal(c.req.nseries, 2);
        assert_str(c.req.series[0].labels[0].value, "ok0");
        assert_str(c.req.series[1].labels[0].value, "ok:2");
        assert_int_equal(c.req.series[1].nlabels, 1); /* z="" dropped */
        assert_true(c.req.series[1].samples[0].v == 3);
        done(&c);
    }
}

static void test_histogram_and_exemplar_rejections(void **state)
{
    (void)state;
    ctx c;
    /* spans cover 3 buckets, 2 deltas given */
    begin();
    O(1), label("__name__", "h"), O(4), O(11), U(2, 3), C(), U(12, 1), U(12, 1), C(), C();
    O(1), label("__name__", "h"), O(4), U(4, zz(9)), C(), C();
    O(1), label("__name__", "h"), O(4), U(12, 1), D(13, 1), O(11), U(2, 2), C(), C(), C();
    O(1), label("__name__", "h"), O(3), label("bad-name", "x"), C(), C();
    assert_int_equal(decode(&c), 0);
    assert_int_equal(c.req.nrejected, 4);
    assert_int_equal(c.req.nseries, 0);
    /* the series is named by its labels too */
    assert_string_equal(
        c.err, "series 0 h{}: histogram 0: positive spans cover 3 buckets but 2 are given");
    done(&c);

    begin();
    O(1), label("__name__", "h"), O(4), U(4, zz(9)), C(), C();
    assert_int_equal(decode(&c), 0);
    assert_string_equal(c.err, "series 0 h{}: histogram 0: schema 9 out of range");
    done(&c);
    begin();
    O(1), label("__name__", "h"), O(4), U(12, 1), D(13, 1), O(11), U(2, 2), C(), C(), C();
    assert_int_equal(decode(&c), 0);
    assert_string_equal(c.err, "series 0 h{}: histogram 0: both integer deltas and float counts");
    done(&c);
    begin();
    O(1), label("__name__", "h"), O(3), label("bad-name", "x"), C(), C();
    assert_int_equal(decode(&c), 0);
    assert_string_equal(c.err, "series 0 h{}: exemplar 0: invalid label name \"bad-name\"");
    done(&c);
    /* labels that are invalid themselves are not shown */
    begin();
    O(1), label("job", "x"), label("__name__", "h"), O(4), U(4, zz(9)), C(), C();
    assert_int_equal(decode(&c), 0);
    assert_int_equal(c.req.nrejected, 1);
    assert_string_equal(c.err, "series 0: histogram 0: schema 9 out of range");
    done(&c);
    begin();
    O(1), label("__name__", "h"), label("job", "x"), O(4), U(4, zz(9)), C(), C();
    assert_int_equal(decode(&c), 0);
    assert_string_equal(c.err, "series 0 h{job=\"x\"}: histogram 0: schema 9 out of range");
    done(&c);
}

/* Converts histogram k of series 0 of c's request; returns the problem (NULL if none). */
static const char *convert_hist(ctx *c, size_t k, osp_histogram *h)
{
    const char *problem = "unset";
    assert_true(c->req.nseries >= 1 && c->req.series[0].nhistograms > k);
    assert_int_equal(
        osp_rw_histogram_convert(&c->req.series[0].histograms[k], &c->arena, h, &problem), 0);
    return problem;
}

static void assert_spans(const osp_hist_span *s, uint32_t n, const int32_t *want, uint32_t nwant)
{
    assert_int_equal(n, nwant / 2);
    for (uint32_t i = 0; i < n; i++)
        assert_true(s[i].offset == want[2 * i] && s[i].length == (uint32_t)want[2 * i + 1]);
}

static void assert_counts(const double *b, uint32_t n, const double *want, uint32_t nwant)
{
    assert_int_equal(n, nwant);
    for (uint32_t i = 0; i < n; i++)
        if (b[i] != want[i])
            fail_msg("bucket %u: %g, want %g", i, b[i], want[i]);
}

#define SPANS(h, side, ...)                                                                        \
    assert_spans((h).side##spans, (h).n##side##spans, (const int32_t[]){__VA_ARGS__},              \
                 sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))
#define COUNTS(h, side, ...)                                                                       \
    assert_counts((h).side##buckets, (h).n##side##buckets, (const double[]){__VA_ARGS__},          \
                  sizeof((const double[]){__VA_ARGS__}) / sizeof(double))

/* Decoded histograms as the store takes them: integer deltas summed into absolute counts,
 * float counts as sent, hints, stale markers; custom buckets and inconsistent counts
 * named. */
static void test_histogram_convert(void **state)
{
    (void)state;
    ctx c;
    osp_histogram h;
    begin();
    O(1);
    label("__name__", "h");
    /* 0: integer, schema 1: negative deltas 1, 1 -> 1, 2; positive 3, -1, 1 -> 3, 2, 3;
     * total 2 + 3 + 8 = 13 */
    O(4), U(1, 13), D(3, 20.5), U(4, zz(1)), D(5, 0.001), U(6, 2);
    O(8), U(1, zz(-1)), U(2, 2), C();
    U(9, zz(1)), U(9, zz(1));
    O(11), U(1, zz(0)), U(2, 2), C();
    O(11), U(1, zz(3)), U(2, 1), C();
    U(12, zz(3)), U(12, zz(-1)), U(12, zz(1));
    U(14, OSP_RW_RESET_NO), U(15, 1000), C();
    /* 1: float, schema -4, counts as sent */
    O(4), D(2, 6.5), U(4, zz(-4)), D(7, 0.5), O(11), U(1, zz(2)), U(2, 2), C();
    D(13, 1.5), D(13, 4.5), U(14, OSP_RW_RESET_GAUGE), U(15, 2000), C();
    /* 2: count 2 below 1 + 2 */
    O(4), U(1, 2), O(11), U(1, 0), U(2, 2), C(), U(12, zz(1)), U(12, zz(1)), C();
    /* 3: deltas 2, -3 -> a bucket of -1 */
    O(4), U(1, 5), O(11), U(1, 0), U(2, 2), C(), U(12, zz(2)), U(12, zz(-3)), C();
    /* 4: custom buckets */
    O(4), D(2, 1), U(4, zz(-53)), O(11), U(1, 0), U(2, 1), C(), D(13, 1), D(16, 0.5), C();
    /* 5: the stale marker; an unknown hint reads as UNKNOWN */
    O(4), assert_int_equal(osp_pb_put_fixed64(&W, 3, 0x7ff0000000000002ull), 0), U(14, 7), C();
    /* 6: an integer histogram with a float zero count: Prometheus reads zero_count_int, 0 */
    O(4), U(1, 1), D(7, 0.5), O(11), U(1, 0), U(2, 1), C(), U(12, zz(1)), C();
    C();
    assert_int_equal(decode(&c), 0);
    assert_string_equal(c.err, "");

    assert_null(convert_hist(&c, 0, &h));
    assert_true(h.schema == 1 && h.hint == OSP_HIST_HINT_NOT_RESET && h.zero_threshold == 0.001);
    assert_true(h.zero_count == 2 && h.count == 13 && h.sum == 20.5);
    SPANS(h, n, -1, 2);
    COUNTS(h, n, 1, 2);
    SPANS(h, p, 0, 2, 3, 1);
    COUNTS(h, p, 3, 2, 3);

    assert_null(convert_hist(&c, 1, &h));
    assert_true(h.schema == -4 && h.hint == OSP_HIST_HINT_GAUGE && h.zero_threshold == 0);
    assert_true(h.zero_count == 0.5 && h.count == 6.5 && h.sum == 0);
    SPANS(h, p, 2, 2);
    COUNTS(h, p, 1.5, 4.5);
    assert_int_equal(h.nnspans + h.nnbuckets, 0);

    assert_string_equal(convert_hist(&c, 2, &h), "count 2 below the bucket total 3");
    assert_string_equal(convert_hist(&c, 3, &h), "positive bucket 1 has negative count -1");
    assert_string_equal(convert_hist(&c, 4, &h),
                        "custom-bucket histograms (schema -53) are not supported");

    assert_null(convert_hist(&c, 5, &h));
    assert_true(osp_hist_is_stale(&h));
    assert_int_equal(h.hint, OSP_HIST_HINT_UNKNOWN);

    assert_null(convert_hist(&c, 6, &h));
    assert_true(h.zero_count == 0 && h.count == 1);
    COUNTS(h, p, 1);
    done(&c);

    /* out of memory in the arena: OSP_ENOMEM */
    begin();
    O(1), label("__name__", "h");
    O(4), U(1, 1), O(11), U(1, 0), U(2, 1), C(), U(12, zz(1)), C();
    C();
    assert_int_equal(decode(&c), 0);
    osp_arena full;
    osp_arena_init(&full, 16, 16);
    assert_non_null(osp_arena_alloc(&full, 16));
    const char *problem = "unset";
    assert_int_equal(osp_rw_histogram_convert(&c.req.series[0].histograms[0], &full, &h, &problem),
                     OSP_ENOMEM);
    osp_arena_cleanup(&full);
    done(&c);
}

/* Malformed protobuf fails the whole request with the offset and the problem. */
static void test_malformed(void **state)
{
    (void)state;
    ctx c;
    /* truncated: a series whose length runs past the end */
    begin();
    RAW("\x0a\x05\x0a\x03", 4);
    assert_int_equal(decode(&c), OSP_EPARSE);
    assert_non_null(strstr(c.err, "offset 0: WriteRequest: "));
    assert_int_equal(c.req.nseries, 0);
    done(&c);

    /* truncated inside a label: the Label message's own framing is broken */
    begin();
    RAW("\x0a\x04\x0a\x02\x0a\x05", 6);
    assert_int_equal(decode(&c), OSP_EPARSE);
    assert_non_null(strstr(c.err, "offset 4: Label: "));
    done(&c);

    /* wrong wire types, at each level */
    static const struct {
        const char *bytes;
        size_t n;
        const char *want;
    } wires[] = {
        {"\x08\x01", 2, "offset 0: WriteRequest field 1 has wire type varint, want len"},
        {"\x0a\x02\x08\x01", 4, "offset 2: TimeSeries field 1 has wire type varint, want len"},
        {"\x0a\x04\x0a\x02\x08\x01", 6, "offset 4: Label field 1 has wire type varint, want len"},
        {"\x0a\x04\x12\x02\x08\x01", 6, "offset 4: Sample field 1 has wire type varint, want i64"},
        {"\x0a\x04\x12\x02\x11\x01", 6, "offset 4: Sample: truncated"}, /* truncated fixed64 */
        {"\x0a\x04\x22\x02\x19\x01", 6, "offset 4: Histogram: "},
        {"\x0a\x04\x22\x02\x18\x01", 6, "Histogram field 3 has wire type varint, want i64"},
        {"\x0a\x04\x22\x02\x42\x00", 6, NULL}, /* an empty span is fine */
        {"\x0a\x06\x22\x04\x42\x02\x0a\x00", 8, "BucketSpan field 1 has wire type len"},
        {"\x0a\x04\x22\x02\x4d\x00", 6, NULL}, /* i32 truncated */
        {"\x0a\x05\x22\x03\x62\x01\x80", 7, "offset 6: Histogram field 12: packed sint64"},
        {"\x1a\x02\x10\x01", 4, "offset 2: MetricMetadata field 2 has wire type varint"},
        {"\x1a\x02\x0a\x00", 4, "MetricMetadata field 1 has wire type len, want varint"},
        {"\x0a\x04\x1a\x02\x10\x01", 6, "Exemplar field 2 has wire type varint, want i64"},
        {"\x0b", 1, "offset 0: WriteRequest: "}, /* group */
    };
    for (size_t k = 0; k < sizeof wires / sizeof wires[0]; k++) {
        begin();
        RAW(wires[k].bytes, wires[k].n);
        int rc = decode(&c);
        if (!wires[k].want) {
            assert_true(rc == 0 || rc == OSP_EPARSE);
        } else {
            assert_int_equal(rc, OSP_EPARSE);
            if (!strstr(c.err, wires[k].want))
                fail_msg("case %zu: got \"%s\", want \"%s\"", k, c.err, wires[k].want);
        }
        done(&c);
    }
}

static void test_snappy_errors(void **state)
{
    (void)state;
    ctx c;
    /* empty body: no preamble */
    assert_int_equal(decode_raw(&c, "", 0, 0), OSP_EPARSE);
    assert_string_equal(c.err, "snappy: bad uncompressed length preamble");
    done(&c);
    /* preamble says 10 bytes, the stream holds a 2-byte literal */
    assert_int_equal(decode_raw(&c, "\x0a\x04\x0a\x00", 4, 0), OSP_EPARSE);
    assert_string_equal(c.err, "snappy: corrupt compressed data");
    done(&c);
    /* a copy before any literal */
    assert_int_equal(decode_raw(&c, "\x04\x01\x01", 3, 0), OSP_EPARSE);
    assert_string_equal(c.err, "snappy: corrupt compressed data");
    done(&c);
    /* the framed format is not the block format */
    assert_int_equal(decode_raw(&c, "\xff\x06\x00\x00sNaPpY", 10, 0), OSP_EPARSE);
    assert_non_null(strstr(c.err, "snappy: "));
    done(&c);
    /* a 4 GiB claim is refused before any allocation */
    assert_int_equal(decode_raw(&c, "\xff\xff\xff\xff\x0f\x00", 6, 1 << 20), OSP_ETOOBIG);
    assert_string_equal(
        c.err, "snappy: uncompressed length 4294967295 exceeds the limit of 1048576 bytes");
    done(&c);

    /* a valid request just over the cap, then exactly at it */
    begin();
    O(1), label("__name__", "m"), sample(1, 1), C();
    size_t n = W.len;
    osp_str body = compress();
    assert_int_equal(decode_raw(&c, body.p, body.n, n - 1), OSP_ETOOBIG);
    assert_non_null(strstr(c.err, "exceeds the limit"));
    done(&c);
    assert_int_equal(decode_raw(&c, body.p, body.n, n), 0);
    assert_int_equal(c.req.nseries, 1);
    assert_int_equal(c.req.raw.n, n);
    done(&c);
    free((void *)body.p);
}

static void test_arena_cap(void **state)
{
    (void)state;
    begin();
    for (int i = 0; i < 200; i++)
        O(1), label("__name__", "m"), sample(i, i), C();
    osp_str body = compress();
    ctx c;
    osp_arena_init(&c.arena, 4096, 4096);
    assert_int_equal(osp_remote_write_decode(body, 0, &c.arena, NULL, &c.req, c.err, sizeof c.err),
                     OSP_ENOMEM);
    assert_int_equal(c.req.nseries, 0);
    assert_non_null(strstr(c.err, "out of memory"));
    done(&c);
    free((void *)body.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_unpacked_and_unknown),
        cmocka_unit_test(test_label_layouts),
        cmocka_unit_test(test_known_series),
        cmocka_unit_test(test_series_sizes),
        cmocka_unit_test(test_empty_request),
        cmocka_unit_test(test_series_rejections),
        cmocka_unit_test(test_histogram_and_exemplar_rejections),
        cmocka_unit_test(test_histogram_convert),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_snappy_errors),
        cmocka_unit_test(test_arena_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
