/* Unit tests for proto/loki: JSON and snappy-compressed protobuf pushes into log rows (the
 * same push in both encodings gives equal rows), every rejection path with valid parts
 * kept, malformed bodies, the size cap, timestamp limits, and the label set parser. */
#include "testutil.h"

#include "core/arena.h"
#include "core/err.h"
#include "model/attr.h"
#include "proto/loki.h"
#include "proto/pbsnappy.h"

/* ---- helpers ---- */

/* Opens a StreamAdapter with its labels string (none when NULL). */
static void stream(const char *labels)
{
    O(1);
    if (labels)
        S(1, labels);
}

/* Opens an EntryAdapter with a timestamp and a line; M adds metadata, C closes it. */
static void entry(int64_t sec, int64_t nanos, const char *line)
{
    O(2);
    O(1), U(1, (uint64_t)sec), U(2, (uint64_t)nanos), C();
    S(2, line);
}

static void meta(const char *name, const char *value)
{
    O(3), S(1, name), S(2, value), C();
}

/* Decodes the built message (compressed) into b. */
static int decode_pb(osp_log_batch *b, osp_loki_report *rep)
{
    osp_str body = compress();
    int rc = osp_loki_decode_pb(body, 1 << 20, b, rep);
    free((void *)body.p);
    return rc;
}

static int decode_json(const char *text, osp_log_batch *b, osp_loki_report *rep)
{
    /* A heap copy of exactly the text, so reads past it are caught under ASan. */
    size_t n = strlen(text);
    char *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, text, n);
    int rc = osp_loki_decode_json(osp_str_make(copy, n), b, rep);
    memset(copy, 'X', n); /* rows must not point into the body */
    free(copy);
    return rc;
}

static void assert_str(osp_str s, const char *z)
{
    if (!osp_str_eqz(s, z))
        fail_msg("got \"%.*s\", want \"%s\"", OSP_STR_FMT(s), z);
}

/* The line of record i. */
static osp_str line_of(const osp_log_batch *b, size_t i)
{
    osp_value v;
    assert_true(b->records[i].has_body);
    assert_int_equal(osp_value_decode(b->records[i].body, &v), 0);
    assert_int_equal(v.type, OSP_VAL_STRING);
    return v.s;
}

/* An attrs blob of string values as "k=v,k=v". */
static const char *attrs_text(osp_str blob)
{
    static char out[1024];
    osp_attr_iter it;
    osp_str k;
    osp_value v;
    size_t n = 0;
    int rc;
    out[0] = 0;
    osp_attr_iter_init(&it, blob);
    while ((rc = osp_attr_next(&it, &k, &v)) == 1) {
        assert_int_equal(v.type, OSP_VAL_STRING);
        n += (size_t)snprintf(out + n, sizeof out - n, "%s%.*s=%.*s", n ? "," : "", OSP_STR_FMT(k),
                              OSP_STR_FMT(v.s));
    }
    assert_int_equal(rc, 0);
    return out;
}

static void assert_record(const osp_log_batch *b, size_t i, uint64_t t_ns, const char *line,
                          const char *meta_text, const char *labels_text)
{
    const osp_log_record *r = &b->records[i];
    assert_true(r->time_ns == t_ns);
    assert_str(line_of(b, i), line);
    assert_string_equal(attrs_text(r->attributes), meta_text);
    assert_true(r->resource < b->nresources);
    assert_string_equal(attrs_text(b->resources[r->resource].attributes), labels_text);
    assert_true(r->scope < b->nscopes);
    const osp_scope *sc = &b->scopes[r->scope];
    assert_true(sc->name.n == 0 && sc->version.n == 0 && sc->attributes.n == 0);
    assert_true(r->observed_ns == 0 && r->severity_number == 0 && r->flags == 0 &&
                r->severity_text.n == 0 && r->event_name.n == 0 && r->dropped_attributes == 0);
}

/* Each test's batches and report: b (bp holds the protobuf rows when both encodings are
 * compared), empty at the start and cleaned up after it. */
typedef struct fx {
    osp_log_batch b, bp;
    osp_loki_report rep;
} fx;

static int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    osp_log_batch_init(&f->b);
    osp_log_batch_init(&f->bp);
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    fx *f = *state;
    osp_log_batch_cleanup(&f->b);
    osp_log_batch_cleanup(&f->bp);
    free(f);
    return 0;
}

/* Empties f->b for the next case; returns it. */
static osp_log_batch *fresh(fx *f)
{
    osp_log_batch_cleanup(&f->b);
    osp_log_batch_init(&f->b);
    return &f->b;
}

/* ---- the same push in both encodings ---- */

static const char push_json[] =
    "{\"streams\":["
    "{\"stream\":{\"job\":\"api\",\"service_name\":\"checkout\",\"level\":\"info\"},"
    " \"values\":[[\"1570818238000000000\",\"first line\"],"
    "             [\"1570818238000000001\",\"second \\\"quoted\\\" line\","
    "              {\"trace_id\":\"0242ac120002\",\"user_id\":\"u1\"}]]},"
    "{\"values\":[[\"5\",\"\\u00e9t\\u00e9\\n\",{}]],"
    " \"stream\":{\"job\":\"batch\"}}"
    "]}";

static void build_push_pb(void)
{
    begin();
    stream("{job=\"api\", service_name=\"checkout\", level=\"info\"}");
    entry(1570818238, 0, "first line"), C();
    entry(1570818238, 1, "second \"quoted\" line");
    meta("trace_id", "0242ac120002"), meta("user_id", "u1"), C();
    U(3, 12345); /* hash: ignored */
    C();
    O(1), entry(0, 5, "\xc3\xa9t\xc3\xa9\n"), C(), S(1, "{job=\"batch\"}"), C();
    S(2, "loki"); /* PushRequest.format: ignored */
}

static void check_push(const osp_log_batch *b)
{
    assert_int_equal(b->nresources, 2);
    assert_int_equal(b->nscopes, 1);
    assert_int_equal(b->nrecords, 3);
    const char *l0 = "job=api,service_name=checkout,level=info";
    assert_record(b, 0, 1570818238000000000ull, "first line", "", l0);
    assert_record(b, 1, 1570818238000000001ull, "second \"quoted\" line",
                  "trace_id=0242ac120002,user_id=u1", l0);
    assert_record(b, 2, 5, "\xc3\xa9t\xc3\xa9\n", "", "job=batch");
    assert_str(b->resources[0].service_name, "checkout");
    assert_str(b->resources[1].service_name, "");
    assert_int_equal(b->records[0].resource, 0);
    assert_int_equal(b->records[2].resource, 1);
}

static void test_json_push(void **state)
{
    fx *f = *state;
    osp_log_batch *b = &f->b;
    osp_loki_report *rep = &f->rep;
    assert_int_equal(decode_json(push_json, b, rep), 0);
    assert_int_equal(rep->rejected, 0);
    assert_string_equal(rep->message, "");
    check_push(b);
}

static void test_pb_push_equals_json(void **state)
{
    fx *f = *state;
    osp_log_batch *bj = &f->b, *bp = &f->bp;
    osp_loki_report *rep = &f->rep;
    assert_int_equal(decode_json(push_json, bj, rep), 0);
    build_push_pb();
    assert_int_equal(decode_pb(bp, rep), 0);
    assert_int_equal(rep->rejected, 0);
    assert_string_equal(rep->message, "");
    check_push(bp);
    assert_int_equal(bp->nrecords, bj->nrecords);
    for (size_t i = 0; i < bp->nrecords; i++)
        assert_true(osp_log_record_equal(bj, i, bp, i));
}

/* Label strings with escapes and spaces give the same resource as the JSON labels. */
static void test_escaped_labels_both_ways(void **state)
{
    fx *f = *state;
    osp_log_batch *bj = &f->b, *bp = &f->bp;
    osp_loki_report *rep = &f->rep;
    assert_int_equal(decode_json("{\"streams\":[{\"stream\":{\"job\":\"a\\\"b\\\\c\\n\","
                                 "\"level\":\"xA\\u00e9\\t\",\"e\":\"\"},"
                                 "\"values\":[[\"1\",\"l\"]]}]}",
                                 bj, rep),
                     0);
    begin();
    stream("\n { job = \"a\\\"b\\\\c\\n\" ,\tlevel=\"x\\x41\\u00e9\\011\", e=\"\", } ");
    entry(0, 1, "l"), C();
    C();
    assert_int_equal(decode_pb(bp, rep), 0);
    assert_int_equal(rep->rejected, 0);
    assert_int_equal(bp->nrecords, 1);
    assert_string_equal(attrs_text(bp->resources[0].attributes),
                        "job=a\"b\\c\n,level=xA\xc3\xa9\t,e=");
    assert_true(osp_log_record_equal(bj, 0, bp, 0));
}

/* Decoding appends: the new records refer to the new resource and scope indexes, and a
 * failed decode leaves the batch as it was. */
static void test_append_and_failure_leaves_batch(void **state)
{
    fx *f = *state;
    osp_log_batch *b = &f->b;
    osp_loki_report *rep = &f->rep;
    assert_int_equal(decode_json(push_json, b, rep), 0);
    assert_int_equal(decode_json("{\"streams\":[{\"stream\":{\"a\":\"b\"},"
                                 "\"values\":[[\"7\",\"x\"]]}]}",
                                 b, rep),
                     0);
    assert_int_equal(b->nrecords, 4);
    assert_int_equal(b->nscopes, 2);
    assert_int_equal(b->records[3].resource, 2);
    assert_int_equal(b->records[3].scope, 1);
    /* a valid stream, then malformed text: nothing of it stays */
    assert_int_equal(decode_json("{\"streams\":[{\"stream\":{\"a\":\"b\"},"
                                 "\"values\":[[\"7\",\"x\"]]},{\"stream\":1}]}",
                                 b, rep),
                     OSP_EPARSE);
    assert_int_equal(b->nrecords, 4);
    assert_int_equal(b->nresources, 3);
    assert_int_equal(b->nscopes, 2);
    assert_int_equal(rep->rejected, 0);
    begin();
    stream("{a=\"b\"}"), entry(1, 0, "x"), C(), C();
    RAW("\x0a\x05", 2); /* a stream cut short */
    assert_int_equal(decode_pb(b, rep), OSP_EPARSE);
    assert_int_equal(b->nrecords, 4);
    assert_int_equal(b->nresources, 3);
    assert_int_equal(b->nscopes, 2);
    check_push(&(osp_log_batch){.resources = b->resources,
                                .nresources = 2,
                                .scopes = b->scopes,
                                .nscopes = 1,
                                .records = b->records,
                                .nrecords = 3});
}

/* Streams and members the decoders skip. */
static void test_empty_and_unknown(void **state)
{
    fx *f = *state;
    osp_log_batch *b = &f->b;
    osp_loki_report *rep = &f->rep;
    const char *ok[] = {
        "{}",
        "{\"streams\":[]}",
        "{\"streams\":null}",
        " {\"other\":[1,{\"x\":2}],\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[]}]} ",
        "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":null,\"x\":{}}]}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(decode_json(ok[i], b, rep), 0);
        assert_int_equal(rep->rejected, 0);
    }
    /* an entry with a null metadata member, an unknown stream member */
    assert_int_equal(decode_json("{\"streams\":[{\"x\":[[1]],\"stream\":{\"a\":\"b\"},"
                                 "\"values\":[[\"3\",\"l\",null]]}]}",
                                 b, rep),
                     0);
    assert_int_equal(b->nrecords, 1);
    assert_int_equal(b->nresources, 1); /* no resource for a stream without records */
    assert_record(b, 0, 3, "l", "", "a=b");

    b = fresh(f);
    /* protobuf: an empty body, unknown fields, the parsed field, a missing timestamp */
    begin();
    assert_int_equal(decode_pb(b, rep), 0);
    assert_int_equal(b->nrecords, 0);
    begin();
    U(7, 1);
    stream("{a=\"b\"}");
    O(2), S(2, "no time"), O(4), S(1, "p"), S(2, "q"), C(), U(9, 3), C();
    B(5, "xyz", 3);
    C();
    assert_int_equal(decode_pb(b, rep), 0);
    assert_int_equal(rep->rejected, 0);
    assert_int_equal(b->nrecords, 1);
    assert_record(b, 0, 0, "no time", "", "a=b");
}

/* ---- rejections ---- */

typedef struct rej_case {
    const char *json;
    int64_t rejected, streams; /* entries, streams rejected */
    size_t kept;               /* records kept */
    const char *message;
} rej_case;

/* A push of one stream labelled a="b" with the given values array. */
#define A_B_STREAM(values) "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":" values "}]}"

static void test_json_rejections(void **state)
{
    fx *f = *state;
    static const rej_case cases[] = {
        {"{\"streams\":[{\"stream\":{},\"values\":[[\"1\",\"a\"],[\"2\",\"b\"]]},"
         "{\"stream\":{\"a\":\"b\"},\"values\":[[\"3\",\"c\"]]}]}",
         2, 1, 1, "stream 0: stream has no labels"},
        {"{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"3\",\"c\"]]},"
         "{\"values\":[[\"1\",\"a\"]]}]}",
         1, 1, 1, "stream 1: stream has no labels"},
        {"{\"streams\":[{\"stream\":{\"foo-bar\":\"x\"},\"values\":[[\"1\",\"a\"]]}]}", 1, 1, 0,
         "stream 0: invalid label name \"foo-bar\""},
        {"{\"streams\":[{\"stream\":{\"1a\":\"x\"},\"values\":[[\"1\",\"a\"]]}]}", 1, 1, 0,
         "stream 0: invalid label name \"1a\""},
        {"{\"streams\":[{\"stream\":{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"},"
         "\"values\":[[\"1\",\"a\"]]}]}",
         1, 1, 0, "stream 0: duplicate label name \"a\""},
        /* entries read before the bad labels are taken back */
        {"{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"9\",\"k\"]]},"
         "{\"values\":[[\"1\",\"a\"],[\"x\",\"b\"],[\"3\",\"c\"]],\"stream\":{\"a.b\":\"x\"}}]}",
         3, 1, 1, "stream 1 entry 1: timestamp \"x\" is not a decimal number of nanoseconds"},
        {A_B_STREAM("[[\"1\",\"a\"],[\"12a\",\"b\"],[\"3\",\"c\"]]"), 1, 0, 2,
         "stream 0 entry 1: timestamp \"12a\" is not a decimal number of nanoseconds"},
        {A_B_STREAM("[[1570818238000000000,\"a\"],[\"3\",\"c\"]]"), 1, 0, 1,
         "stream 0 entry 0: timestamp must be a string of decimal nanoseconds, not a number"},
        {A_B_STREAM("[[{\"s\":[1]},\"a\"]]"), 1, 0, 0,
         "stream 0 entry 0: timestamp must be a string of decimal nanoseconds, not an object"},
        {A_B_STREAM("[[\"\",\"a\"]]"), 1, 0, 0,
         "stream 0 entry 0: timestamp \"\" is not a decimal number of nanoseconds"},
        {A_B_STREAM("[[\"-1\",\"a\"]]"), 1, 0, 0,
         "stream 0 entry 0: timestamp \"-1\" is not a decimal number of nanoseconds"},
        /* Loki parses timestamps as int64: 2^63 ns and past are invalid */
        {A_B_STREAM("[[\"9223372036854775808\",\"a\"],"
                    "[\"9223372036854775807\",\"max\"],[\"18446744073709551615\",\"b\"],"
                    "[\"18446744073709551616\",\"c\"]]"),
         3, 0, 1,
         "stream 0 entry 0: timestamp \"9223372036854775808\" is past the largest time "
         "(2^63-1 ns)"},
        {A_B_STREAM("[[\"1\",\"a\",{\"ok\":\"1\",\"trace.id\":\"x\"}],"
                    "[\"2\",\"b\",{\"ok\":\"2\"}]]"),
         1, 0, 1, "stream 0 entry 0: invalid structured metadata name \"trace.id\""},
        /* the first problem is kept; a bad stream's entries are not judged */
        {"{\"streams\":[{\"stream\":{\"-\":\"b\"},\"values\":[[\"x\",\"a\"]]},"
         "{\"stream\":{\"a\":\"b\"},\"values\":[[\"y\",\"a\"]]}]}",
         2, 1, 0, "stream 0: invalid label name \"-\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        osp_log_batch *b = fresh(f);
        osp_loki_report *rep = &f->rep;
        int rc = decode_json(cases[i].json, b, rep);
        if (rc != 0 || rep->rejected != cases[i].rejected ||
            rep->rejected_streams != cases[i].streams || b->nrecords != cases[i].kept ||
            strcmp(rep->message, cases[i].message) != 0)
            fail_msg("case %zu: rc %d, rejected %lld/%lld, kept %zu, message \"%s\"", i, rc,
                     (long long)rep->rejected, (long long)rep->rejected_streams, b->nrecords,
                     rep->message);
        for (size_t r = 0; r < b->nrecords; r++) {
            assert_true(b->records[r].resource < b->nresources);
            line_of(b, r);
        }
    }
}

/* Rejections that only protobuf can carry, and the protobuf side of the others. */
static void test_pb_rejections(void **state)
{
    fx *f = *state;
    osp_log_batch *b = &f->b;
    osp_loki_report *rep = &f->rep;
    begin();
    /* stream 0: labels that do not parse */
    stream("{job=x}"), entry(1, 0, "a"), C(), entry(2, 0, "b"), C(), C();
    /* stream 1: fine, with bad entries among good ones */
    stream("{job=\"ok\"}");
    entry(1, 0, "kept 0"), C();
    entry(1, 1000000000, "nanos too big"), C();
    entry(1, -1, "negative nanos"), C();
    entry(-1, 0, "negative seconds"), C();
    entry(9223372036, 854775807, "max"), C();
    entry(9223372036, 854775808, "past max"), C();
    entry(18446744073, 709551615, "past max, in uint64"), C();
    entry(INT64_MAX, 0, "far past max"), C();
    entry(1, 0, "bad \xff line"), C();
    entry(1, 0, "bad meta name"), meta("a-b", "x"), C();
    entry(1, 0, "bad meta value"), meta("ok", "\xc3"), C();
    entry(3, 0, "kept 1"), meta("ok", "v"), C();
    C();
    /* stream 2: a label value that is not UTF-8 (by escape), stream 3: no labels field,
     * stream 4: duplicate names, stream 5: invalid name via the parser, 6: empty set */
    stream("{a=\"\\xff\"}"), entry(1, 0, "x"), C(), C();
    stream(NULL), entry(1, 0, "x"), C(), C();
    stream("{a=\"1\", a=\"2\"}"), entry(1, 0, "x"), C(), C();
    stream("{a=\"1\", __b=\"2\"}"), entry(4, 0, "kept 2"), C(), C();
    stream("{}"), entry(1, 0, "x"), C(), C();
    assert_int_equal(decode_pb(b, rep), 0);
    assert_string_equal(rep->message,
                        "stream 0: cannot parse labels: offset 5: expected a double-quoted "
                        "label value");
    assert_int_equal(rep->rejected, 2 + 9 + 1 + 1 + 1 + 1);
    assert_int_equal(rep->rejected_streams, 5);
    assert_int_equal(b->nrecords, 4);
    assert_int_equal(b->nresources, 2);
    assert_record(b, 0, 1000000000, "kept 0", "", "job=ok");
    assert_record(b, 1, INT64_MAX, "max", "", "job=ok");
    assert_record(b, 2, 3000000000, "kept 1", "ok=v", "job=ok");
    assert_record(b, 3, 4000000000, "kept 2", "", "a=1,__b=2");

    /* each entry problem's message */
    static const struct {
        int64_t sec, nanos;
        const char *line, *mname, *mvalue, *want;
    } one[] = {
        {1, 1000000000, "l", NULL, NULL,
         "stream 0 entry 0: timestamp nanos 1000000000 outside 0..999999999"},
        {1, -1, "l", NULL, NULL, "stream 0 entry 0: timestamp nanos -1 outside 0..999999999"},
        {-1, 0, "l", NULL, NULL, "stream 0 entry 0: timestamp seconds -1 is negative"},
        {9223372036, 854775808, "l", NULL, NULL,
         "stream 0 entry 0: timestamp seconds 9223372036 is past the largest time (2^63-1 ns)"},
        {1, 0, "\xed\xa0\x80", NULL, NULL, "stream 0 entry 0: line is not valid UTF-8"},
        {1, 0, "l", "", "v", "stream 0 entry 0: invalid structured metadata name \"\""},
        {1, 0, "l", "m", "\xff",
         "stream 0 entry 0: structured metadata m has a value that is not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        fresh(f);
        begin();
        stream("{a=\"b\"}"), entry(one[i].sec, one[i].nanos, one[i].line);
        if (one[i].mname)
            meta(one[i].mname, one[i].mvalue);
        C(), C();
        assert_int_equal(decode_pb(b, rep), 0);
        assert_int_equal(rep->rejected, 1);
        assert_int_equal(b->nrecords, 0);
        assert_int_equal(b->nresources, 0);
        assert_int_equal(b->nscopes, 0);
        assert_string_equal(rep->message, one[i].want);
    }

    static const struct {
        const char *labels, *want;
    } streams[] = {
        {"{a=\"\\xff\"}", "stream 0: label a has a value that is not valid UTF-8"},
        {NULL, "stream 0: stream has no labels"},
        {"{}", "stream 0: stream has no labels"},
        {"{a=\"1\", b=\"2\", a=\"2\"}", "stream 0: duplicate label name \"a\""},
        {"{a!=\"1\"}", "stream 0: cannot parse labels: offset 2: only '=' is allowed in a "
                       "label set"},
    };
    for (size_t i = 0; i < sizeof streams / sizeof streams[0]; i++) {
        fresh(f);
        begin();
        stream(streams[i].labels), entry(1, 0, "x"), C(), entry(1, 0, "y"), C(), C();
        assert_int_equal(decode_pb(b, rep), 0);
        assert_int_equal(rep->rejected, 2);
        assert_int_equal(rep->rejected_streams, 1);
        assert_int_equal(b->nrecords, 0);
        assert_string_equal(rep->message, streams[i].want);
    }
}

/* ---- malformed bodies ---- */

static void test_json_malformed(void **state)
{
    fx *f = *state;
    static const struct {
        const char *json, *want; /* want: a prefix of the message */
    } cases[] = {
        {"", "malformed JSON: unexpected end of input at offset 0"},
        {"{\"streams\":[", "malformed JSON: unexpected end of input at offset 12"},
        {"{\"streams\":[]} x", "malformed JSON: unexpected data after the value at offset 15"},
        {"{\"streams\":[{\"stream\":{\"a\":\"\xff\"}}]}",
         "malformed JSON: invalid UTF-8 in string at offset 27"},
        {"[]", "invalid Loki push: a push must be a JSON object at offset 0"},
        {"{\"streams\":{}}", "invalid Loki push: streams must be an array at offset 11"},
        {"{\"streams\":[],\"streams\":[]}",
         "invalid Loki push: duplicate member \"streams\" at offset 14"},
        {"{\"streams\":[1]}",
         "invalid Loki push: streams must be an array of objects at offset 12"},
        {"{\"streams\":[null]}",
         "invalid Loki push: streams must be an array of objects at offset 12"},
        {"{\"streams\":[{\"stream\":[]}]}",
         "invalid Loki push: stream must be an object of labels at offset 22"},
        {"{\"streams\":[{\"stream\":{\"a\":1}}]}",
         "invalid Loki push: stream label values must be strings at offset 27"},
        {"{\"streams\":[{\"stream\":{},\"stream\":{}}]}",
         "invalid Loki push: duplicate member \"stream\" at offset 25"},
        {"{\"streams\":[{\"values\":{}}]}",
         "invalid Loki push: values must be an array at offset 22"},
        {"{\"streams\":[{\"values\":[\"1\"]}]}",
         "invalid Loki push: values must be an array of entry arrays at offset 23"},
        {"{\"streams\":[{\"values\":[[]]}]}",
         "invalid Loki push: an entry must be [timestamp, line] or [timestamp, line, metadata] "
         "at offset 23"},
        {"{\"streams\":[{\"values\":[[\"1\"]]}]}",
         "invalid Loki push: an entry must be [timestamp, line] or [timestamp, line, metadata] "
         "at offset 23"},
        {"{\"streams\":[{\"values\":[[\"1\",2]]}]}",
         "invalid Loki push: an entry's line must be a string at offset 28"},
        {"{\"streams\":[{\"values\":[[\"1\",\"a\",\"m\"]]}]}",
         "invalid Loki push: structured metadata must be an object at offset 32"},
        {"{\"streams\":[{\"values\":[[\"1\",\"a\",{},{}]]}]}",
         "invalid Loki push: an entry must be [timestamp, line] or [timestamp, line, metadata] "
         "at offset 23"},
        {"{\"streams\":[{\"values\":[[\"1\",\"a\",{\"m\":1}]]}]}",
         "invalid Loki push: structured metadata values must be strings at offset 37"},
        {"{\"streams\":[{\"values\":[[\"1\",\"a\",{\"m\":{}}]]}]}",
         "invalid Loki push: structured metadata values must be strings at offset 37"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        osp_log_batch *b = fresh(f);
        osp_loki_report *rep = &f->rep;
        int rc = decode_json(cases[i].json, b, rep);
        if (rc != OSP_EPARSE || strcmp(rep->message, cases[i].want) != 0)
            fail_msg("case %zu: rc %d, message \"%s\"", i, rc, rep->message);
        assert_int_equal(b->nrecords + b->nresources + b->nscopes, 0);
        assert_int_equal(rep->rejected, 0);
    }
}

/* Decodes the built message into an empty batch: it fails with want_rc and message want. */
static void expect_pb_error(fx *f, int want_rc, const char *want)
{
    osp_log_batch *b = fresh(f);
    osp_loki_report *rep = &f->rep;
    int rc = decode_pb(b, rep);
    if (rc != want_rc || strcmp(rep->message, want) != 0)
        fail_msg("rc %d, message \"%s\", want \"%s\"", rc, rep->message, want);
    assert_int_equal(b->nrecords + b->nresources + b->nscopes, 0);
}

static void test_pb_malformed(void **state)
{
    fx *f = *state;
    begin();
    RAW("\x0a\x05\x0a", 3);
    expect_pb_error(f, OSP_EPARSE, "offset 0: PushRequest: length past the end of the message");
    begin();
    U(1, 3);
    expect_pb_error(f, OSP_EPARSE, "offset 0: PushRequest field 1 has wire type varint, want len");
    begin();
    stream("{a=\"b\"}"), U(2, 1), C();
    expect_pb_error(f, OSP_EPARSE,
                    "offset 11: StreamAdapter field 2 has wire type varint, want len");
    begin();
    stream("{a=\"b\"}"), B(3, "x", 1), C();
    expect_pb_error(f, OSP_EPARSE,
                    "offset 11: StreamAdapter field 3 has wire type len, want varint");
    begin();
    stream("{a=\"b\"}"), O(2), U(2, 7), C(), C();
    expect_pb_error(f, OSP_EPARSE,
                    "offset 13: EntryAdapter field 2 has wire type varint, want len");
    begin();
    stream("{a=\"b\"}"), O(2), O(1), B(2, "x", 1), C(), C(), C();
    expect_pb_error(f, OSP_EPARSE, "offset 15: Timestamp field 2 has wire type len, want varint");
    begin();
    stream("{a=\"b\"}"), entry(1, 0, "l"), O(3), U(1, 1), C(), C(), C();
    expect_pb_error(f, OSP_EPARSE,
                    "offset 24: LabelPairAdapter field 1 has wire type varint, want len");
    /* framing is checked in the entries of a stream rejected for its labels too */
    begin();
    stream("{}"), O(2), RAW("\x12\x09", 2), C(), C();
    expect_pb_error(f, OSP_EPARSE, "offset 8: EntryAdapter: length past the end of the message");
}

static void test_snappy_and_cap(void **state)
{
    fx *f = *state;
    osp_log_batch *b = &f->b;
    osp_loki_report *rep = &f->rep;
    /* a preamble that never ends */
    assert_int_equal(osp_loki_decode_pb(osp_str_make("\xff\xff\xff\xff\xff\xff", 6), 0, b, rep),
                     OSP_EPARSE);
    assert_string_equal(rep->message, "snappy: bad uncompressed length preamble");
    /* a preamble promising more than follows */
    assert_int_equal(osp_loki_decode_pb(osp_str_make("\x20\x00\x61", 3), 0, b, rep), OSP_EPARSE);
    assert_string_equal(rep->message, "snappy: corrupt compressed data");
    /* the cap is checked against the preamble, before allocating */
    assert_int_equal(osp_loki_decode_pb(osp_str_make("\x80\x80\x80\x80\x0f", 5), 1 << 20, b, rep),
                     OSP_ETOOBIG);
    assert_string_equal(rep->message,
                        "snappy: uncompressed length 4026531840 exceeds the limit of 1048576 "
                        "bytes");
    build_push_pb();
    size_t len = W.len;
    osp_str body = compress();
    assert_int_equal(osp_loki_decode_pb(body, len - 1, b, rep), OSP_ETOOBIG);
    assert_int_equal(b->nrecords, 0);
    assert_int_equal(osp_loki_decode_pb(body, len, b, rep), 0);
    assert_int_equal(b->nrecords, 3);
    free((void *)body.p);
}

/* Scratch buffer caps hold for bodies made of the smallest labels and entries. */
static void test_many_small_parts(void **state)
{
    fx *f = *state;
    enum { N = 3000 };
    osp_buf j, text;
    osp_log_batch *bj = &f->b, *bp = &f->bp;
    osp_loki_report *rep = &f->rep;
    osp_buf_init(&j, 0);
    osp_buf_init(&text, 0);
    assert_int_equal(osp_buf_puts(&j, "{\"streams\":[{\"stream\":{"), 0);
    assert_int_equal(osp_buf_putc(&text, '{'), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(osp_buf_printf(&j, "%s\"l%d\":\"\"", i ? "," : "", i), 0);
        assert_int_equal(osp_buf_printf(&text, "%sl%d=\"\"", i ? "," : "", i), 0);
    }
    assert_int_equal(osp_buf_puts(&j, "},\"values\":["), 0);
    assert_int_equal(osp_buf_puts(&text, "}"), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(osp_buf_printf(&j, "%s[\"%d\",\"\",{\"m\":\"\"}]", i ? "," : "", i), 0);
    assert_int_equal(osp_buf_puts(&j, "]}]}"), 0);
    assert_int_equal(osp_loki_decode_json(osp_buf_str(&j), bj, rep), 0);
    assert_int_equal(rep->rejected, 0);
    begin();
    O(1);
    assert_int_equal(osp_pb_put_str(&W, 1, osp_buf_str(&text)), 0);
    for (int i = 0; i < N; i++)
        entry(0, i, ""), meta("m", ""), C();
    C();
    assert_int_equal(decode_pb(bp, rep), 0);
    assert_int_equal(rep->rejected, 0);
    assert_int_equal(bj->nrecords, N);
    assert_int_equal(bp->nrecords, N);
    assert_int_equal(osp_attr_count(bj->resources[0].attributes), N);
    for (size_t i = 0; i < N; i++)
        assert_true(osp_log_record_equal(bj, i, bp, i));
    osp_buf_cleanup(&j);
    osp_buf_cleanup(&text);
}

/* ---- the label set parser ---- */

static const char *labels_text(const osp_label *ls, size_t n)
{
    static char out[512];
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(out + k, sizeof out - k, "%s%.*s=%.*s", i ? "," : "",
                              OSP_STR_FMT(ls[i].name), OSP_STR_FMT(ls[i].value));
    return out;
}

static void test_parse_labels(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } ok[] = {
        {"{}", ""},
        {" \t{ \n} \r\n", ""},
        {"{a=\"b\"}", "a=b"},
        {"{a=\"b\",}", "a=b"},
        {"{ job = \"x\" , level=\"info\" }", "job=x,level=info"},
        {"{_A9=\"\",b=\"=,{}\"}", "_A9=,b==,{}"},
        {"{a=\"\\a\\b\\f\\n\\r\\t\\v\\\\\\\"\"}", "a=\a\b\f\n\r\t\v\\\""},
        {"{a=\"\\101\\x42\\u0043\\U0001F600\\377\"}", "a=ABC\xf0\x9f\x98\x80\xff"},
        {"{a=\"caf\xc3\xa9\"}", "a=caf\xc3\xa9"},
        {"{a=\"1\",a=\"2\"}", "a=1,a=2"}, /* duplicates are the caller's rule */
    };
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        osp_label *ls;
        size_t n;
        char err[128];
        int rc = osp_loki_parse_labels(osp_str_c(ok[i].text), &arena, &ls, &n, err, sizeof err);
        if (rc != 0)
            fail_msg("case %zu: rc %d: %s", i, rc, err);
        assert_string_equal(labels_text(ls, n), ok[i].want);
        assert_string_equal(err, "");
        assert_true(n > 0 || ls == NULL);
    }
    /* values without escapes are slices of the text */
    osp_label *ls;
    size_t n;
    const char *text = "{a=\"xyz\"}";
    assert_int_equal(osp_loki_parse_labels(osp_str_c(text), &arena, &ls, &n, NULL, 0), 0);
    assert_true(ls[0].name.p == text + 1 && ls[0].value.p == text + 4);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"", "offset 0: expected '{'"},
        {"a=\"b\"", "offset 0: expected '{'"},
        {"{", "offset 1: expected a label name or '}'"},
        {"{a=\"b\"", "offset 6: expected ',' or '}'"},
        {"{a=\"b\" c=\"d\"}", "offset 7: expected ',' or '}'"},
        {"{a=b}", "offset 3: expected a double-quoted label value"},
        {"{a='b'}", "offset 3: expected a double-quoted label value"},
        {"{a}", "offset 2: expected '=' after label name"},
        {"{a!=\"b\"}", "offset 2: only '=' is allowed in a label set"},
        {"{a=~\"b\"}", "offset 2: only '=' is allowed in a label set"},
        {"{1a=\"b\"}", "offset 1: expected a label name or '}'"},
        {"{a.b=\"c\"}", "offset 2: expected '=' after label name"},
        {"{,}", "offset 1: expected a label name or '}'"},
        {"{a=\"b\",,}", "offset 7: expected a label name or '}'"},
        {"{a=\"b\"}x", "offset 7: unexpected text after '}'"},
        {"{a=\"b\"}{}", "offset 7: unexpected text after '}'"},
        {"{a=\"b}", "offset 3: unterminated quoted string"},
        {"{a=\"b\\\"}", "offset 3: unterminated quoted string"},
        {"{a=\"b\nc\"}", "offset 3: unterminated quoted string"},
        {"{a=\"\\q\"}", "offset 4: unknown escape sequence '\\q'"},
        {"{a=\"\\'\"}", "offset 4: unknown escape sequence '\\''"},
        {"{a=\"\\x4\"}", "offset 4: \\x escape needs 2 hex digits"},
        {"{a=\"\\u12G4\"}", "offset 4: \\u escape needs 4 hex digits"},
        {"{a=\"\\U0000004\"}", "offset 4: \\U escape needs 8 hex digits"},
        {"{a=\"\\uD800\"}", "offset 4: escape sequence is an invalid Unicode code point"},
        {"{a=\"\\U00110000\"}", "offset 4: escape sequence is an invalid Unicode code point"},
        {"{a=\"\\400\"}", "offset 4: octal escape value > 255"},
        {"{a=\"\\12\"}", "offset 4: octal escape needs 3 digits"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[128];
        int rc = osp_loki_parse_labels(osp_str_c(bad[i].text), &arena, &ls, &n, err, sizeof err);
        if (rc != OSP_EPARSE || strcmp(err, bad[i].want) != 0)
            fail_msg("case %zu (%s): rc %d, err \"%s\"", i, bad[i].text, rc, err);
        assert_int_equal(n, 0);
        assert_null(ls);
    }
    osp_arena_cleanup(&arena);
}

int main(void)
{
#define T(test) cmocka_unit_test_setup_teardown(test, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        T(test_json_push),
        T(test_pb_push_equals_json),
        T(test_escaped_labels_both_ways),
        T(test_append_and_failure_leaves_batch),
        T(test_empty_and_unknown),
        T(test_json_rejections),
        T(test_pb_rejections),
        T(test_json_malformed),
        T(test_pb_malformed),
        T(test_snappy_and_cap),
        T(test_many_small_parts),
        T(test_parse_labels),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
