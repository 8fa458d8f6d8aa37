/* Tests for src/store/logs/logtpl.c: template ids, folding of constant variables and the
 * encoding of each variable stream (logformat.h), read back here byte by byte. */
#include "testutil.h"

#include "core/pb.h"
#include "store/logs/logformat.h"
#include "store/logs/logtpl.h"

/* What a flush wrote, split. */
typedef struct flushed {
    osp_buf templates, vars;
    osp_str tpl[8];
    size_t ntpl;
    osp_str stream[OSP_LBODY_MAX_VAR_STREAMS]; /* mode byte, then the values */
    size_t nstreams;
} flushed;

static void flush(osp_logtpl *b, flushed *f)
{
    osp_buf_init(&f->templates, 0);
    osp_buf_init(&f->vars, 0);
    assert_int_equal(osp_logtpl_flush(b, &f->templates, &f->vars), 0);
    osp_pb_reader r = osp_pb_reader_make(f->templates.data, f->templates.len);
    for (f->ntpl = 0; r.p < r.end; f->ntpl++) {
        assert_true(f->ntpl < 8);
        assert_int_equal(osp_pb_read_lenbytes(&r, &f->tpl[f->ntpl]), 0);
    }
    r = osp_pb_reader_make(f->vars.data, f->vars.len);
    for (f->nstreams = 0; r.p < r.end; f->nstreams++) {
        assert_true(f->nstreams < OSP_LBODY_MAX_VAR_STREAMS);
        assert_int_equal(osp_pb_read_lenbytes(&r, &f->stream[f->nstreams]), 0);
    }
}

static void flushed_cleanup(flushed *f)
{
    osp_buf_cleanup(&f->templates);
    osp_buf_cleanup(&f->vars);
}

static int last_fresh; /* osp_logtpl_add's *fresh for the line added last */

static uint32_t add(osp_logtpl *b, const char *line)
{
    uint32_t tid = UINT32_MAX;
    assert_int_equal(osp_logtpl_add(b, osp_str_c(line), &tid, &last_fresh), 0);
    return tid;
}

/* The values of a stream's numbers (modes other than MIXED), after its mode and width. */
static size_t numbers(osp_str stream, uint64_t *out, size_t max)
{
    osp_pb_reader r = osp_pb_reader_make(stream.p + 1, stream.n - 1);
    uint8_t mode = (uint8_t)stream.p[0];
    uint64_t x, prev = 0, width;
    size_t n = 0;
    if (mode >= OSP_LVAR_FIXED)
        assert_int_equal(osp_pb_read_varint(&r, &width), 0);
    while (r.p < r.end) {
        assert_true(n < max);
        assert_int_equal(osp_pb_read_varint(&r, &x), 0);
        int delta = mode == OSP_LVAR_DELTA || mode == OSP_LVAR_FIXED_DELTA;
        out[n++] = prev = delta ? prev + (uint64_t)osp_pb_zigzag_decode(x) : x;
    }
    return n;
}

/* Template ids are dense and in order of first use; a variable the same in every line of
 * its template is written into the template, the others go to the streams in order. */
static void test_folding(void **state)
{
    (void)state;
    osp_logtpl b;
    flushed f;
    osp_logtpl_init(&b);
    assert_int_equal(add(&b, "GET /v1/users/17 HTTP/1.1 200 pid=42"), 0);
    assert_int_equal(last_fresh, 1);
    assert_int_equal(add(&b, "no variables"), 1);
    assert_int_equal(osp_logtpl_last_nvars(&b), 0);
    assert_int_equal(add(&b, "GET /v1/users/9 HTTP/1.1 404 pid=42"), 0);
    assert_int_equal(last_fresh, 0);
    /* As split, before folding: the tokens without a digit, and each variable whole. */
    assert_true(
        osp_str_eqz(osp_logtpl_text(&b, 0), "GET /\x11/users/\x11 HTTP/\x11.\x11 \x11 pid=\x11"));
    assert_int_equal(osp_logtpl_last_nvars(&b), 6);
    const char *want[] = {"v1", "9", "1", "1", "404", "42"};
    for (uint32_t i = 0; i < 6; i++)
        assert_true(osp_str_eqz(osp_logtpl_last_var(&b, i), want[i]));
    assert_int_equal(add(&b, "GET /v1/users/3 HTTP/1.1 200 pid=42"), 0);
    assert_int_equal(add(&b, "once 5 and 6"), 2);
    flush(&b, &f);
    assert_int_equal(f.ntpl, 3);
    assert_true(osp_str_eqz(f.tpl[0], "GET /v1/users/\x11 HTTP/1.1 \x11 pid=42"));
    assert_true(osp_str_eqz(f.tpl[1], "no variables"));
    assert_true(osp_str_eqz(f.tpl[2], "once 5 and 6")); /* one line: nothing varies */
    assert_int_equal(f.nstreams, 2);
    uint64_t v[8];
    assert_int_equal(numbers(f.stream[0], v, 8), 3);
    assert_int_equal(v[0], 17);
    assert_int_equal(v[1], 9);
    assert_int_equal(v[2], 3);
    assert_int_equal(numbers(f.stream[1], v, 8), 3);
    assert_int_equal(v[0], 200);
    assert_int_equal(v[1], 404);
    assert_int_equal(v[2], 200);
    flushed_cleanup(&f);

    /* A flush empties the builder: ids start again at 0. */
    assert_int_equal(add(&b, "once 5 and 6"), 0);
    assert_int_equal(add(&b, "once 5 and 7"), 0);
    flush(&b, &f);
    assert_int_equal(f.ntpl, 1);
    assert_true(osp_str_eqz(f.tpl[0], "once 5 and \x11"));
    assert_int_equal(f.nstreams, 1);
    flushed_cleanup(&f);
    osp_logtpl_cleanup(&b);
}

/* Each stream gets the cheapest mode that gives its values back: DELTA for a counter,
 * PLAIN for scattered numbers, FIXED or FIXED_DELTA for zero-padded fields of one width
 * (a clock's), MIXED once widths or text differ. */
static void test_stream_modes(void **state)
{
    (void)state;
    osp_logtpl b;
    flushed f;
    char line[128];
    osp_logtpl_init(&b);
    for (unsigned i = 0; i < 200; i++) {
        snprintf(line, sizeof line, "seq %u size %u at 10:%02u:%02u.%03u id %s%u", 1000000 + i,
                 (i * 2654435761u) % 100000, i / 60, i % 60, i * 5, i % 2 ? "x" : "", i % 10);
        add(&b, line);
    }
    flush(&b, &f);
    assert_int_equal(f.ntpl, 1);
    assert_true(osp_str_eqz(f.tpl[0], "seq \x11 size \x11 at 10:\x11:\x11.\x11 id \x11"));
    assert_int_equal(f.nstreams, 6);
    const uint8_t want[] = {OSP_LVAR_DELTA, OSP_LVAR_PLAIN,       OSP_LVAR_FIXED,
                            OSP_LVAR_FIXED, OSP_LVAR_FIXED_DELTA, OSP_LVAR_MIXED};
    for (size_t k = 0; k < 6; k++)
        assert_int_equal((uint8_t)f.stream[k].p[0], want[k]);
    assert_int_equal((uint8_t)f.stream[2].p[1], 2); /* widths */
    assert_int_equal((uint8_t)f.stream[4].p[1], 3);
    uint64_t v[200];
    assert_int_equal(numbers(f.stream[3], v, 200), 200);
    for (unsigned i = 0; i < 200; i++)
        assert_int_equal(v[i], i % 60);
    assert_int_equal(numbers(f.stream[4], v, 200), 200);
    for (unsigned i = 0; i < 200; i++)
        assert_int_equal(v[i], i * 5);
    flushed_cleanup(&f);

    /* Digits of one width, none padded: plain numbers. Widths that differ with a padded
     * value among them: MIXED. */
    add(&b, "t 10 u 05");
    add(&b, "t 99 u 7");
    add(&b, "t 12 u 10");
    flush(&b, &f);
    assert_int_equal(f.nstreams, 2);
    assert_int_equal((uint8_t)f.stream[0].p[0], OSP_LVAR_PLAIN);
    assert_int_equal((uint8_t)f.stream[1].p[0], OSP_LVAR_MIXED);
    flushed_cleanup(&f);
    osp_logtpl_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folding),
        cmocka_unit_test(test_stream_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
