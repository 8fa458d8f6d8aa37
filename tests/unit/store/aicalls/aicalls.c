/* Tests of the AI call index (store/aicalls): the segment format, reopening, torn and
 * corrupt records, queries and retention. */
#include "testutil.h"

#include "../storetest.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "store/aicalls/aicalls.h"
#include "store/aicalls/aicseg.h"
#include "store/partdir.h"

#define DAY_NS 86400000000000ull

/* A record with every field set, distinct per i; texts of text_n bytes. */
static osp_aicall make_call(int i, uint8_t trace, char *texts, size_t text_n)
{
    static const char *const sessions[] = {"s-1", "s-2"};
    osp_aicall a = {
        .start_ns = 1000000000ull * (uint64_t)(100 + i),
        .end_ns = 1000000000ull * (uint64_t)(100 + i) + 5000000,
        .service = osp_str_c("chat-api"),
        .name = osp_str_c("chat gpt-4o"),
        .type = i % 3 == 2 ? OSP_GENAI_TOOL : OSP_GENAI_LLM,
        .operation = osp_str_c("chat"),
        .provider = osp_str_c("openai"),
        .request_model = osp_str_c("gpt-4o"),
        .response_model = osp_str_c("gpt-4o-2024-08-06"),
        .input_tokens = 100 + i,
        .output_tokens = 20 + i,
        .cache_read_tokens = i,
        .cache_write_tokens = -1,
        .reasoning_tokens = 3,
        .cache_in_input = 1,
        .ttft_ns = 40000000 + i,
        .tpot_ns = -1,
        .streaming = i % 2,
        .max_gap_ns = 7 * i,
        .session_id = osp_str_c(sessions[i % 2]),
        .user_id = osp_str_c("alice"),
        .agent_name = osp_str_c("planner"),
        .tool_name = osp_str_c("search"),
        .is_error = i == 1,
        .error_type = osp_str_c(i == 1 ? "timeout" : ""),
        .input_text = osp_str_make(texts, text_n),
        .output_text = osp_str_c("{\"role\":\"assistant\"}"),
    };
    memset(a.trace_id, trace, 16);
    memset(a.span_id, 0x10 + i, 8);
    memset(a.parent_span_id, i ? 0x10 : 0, 8);
    return a;
}

static void assert_str(osp_str a, osp_str b)
{
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.p, b.p, a.n);
}

/* Every field of got equals want (texts cut to the limit). */
static void assert_call(const osp_aicall *got, const osp_aicall *want)
{
    assert_memory_equal(got->trace_id, want->trace_id, 16);
    assert_memory_equal(got->span_id, want->span_id, 8);
    assert_memory_equal(got->parent_span_id, want->parent_span_id, 8);
    assert_int_equal(got->start_ns, want->start_ns);
    assert_int_equal(got->end_ns, want->end_ns);
    assert_int_equal(got->type, want->type);
    const int64_t g[] = {
        got->input_tokens,     got->output_tokens, got->cache_read_tokens, got->cache_write_tokens,
        got->reasoning_tokens, got->ttft_ns,       got->tpot_ns,           got->max_gap_ns,
        got->cache_in_input,   got->streaming,     got->is_error};
    const int64_t w[] = {want->input_tokens,      want->output_tokens,
                         want->cache_read_tokens, want->cache_write_tokens,
                         want->reasoning_tokens,  want->ttft_ns,
                         want->tpot_ns,           want->max_gap_ns,
                         want->cache_in_input,    want->streaming,
                         want->is_error};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
        assert_int_equal(g[i], w[i]);
    const osp_str gs[] = {got->service,    got->name,          got->operation,
                          got->provider,   got->request_model, got->response_model,
                          got->session_id, got->user_id,       got->agent_name,
                          got->tool_name,  got->error_type,    got->output_text};
    const osp_str ws[] = {want->service,    want->name,          want->operation,
                          want->provider,   want->request_model, want->response_model,
                          want->session_id, want->user_id,       want->agent_name,
                          want->tool_name,  want->error_type,    want->output_text};
    for (size_t i = 0; i < sizeof gs / sizeof gs[0]; i++)
        assert_str(gs[i], ws[i]);
    assert_str(got->input_text, osp_aicall_cut(want->input_text, OSP_AICALL_MAX_TEXT));
}

static osp_aicalls *open_dir(const char *dir, uint64_t retention_ns)
{
    char path[1024];
    osp_aicalls *s;
    snprintf(path, sizeof path, "%s/aicalls", dir);
    osp_aicalls_options opt = {
        .dir = path, .retention_ns = retention_ns, .fsync_policy = OSP_FSYNC_ALWAYS};
    assert_int_equal(osp_aicalls_open(&opt, &s), 0);
    return s;
}

/* The records of trace t (with texts). */
static size_t select_trace(osp_aicalls *s, uint8_t t, osp_arena *arena, osp_aicall **out)
{
    uint8_t id[16];
    size_t n;
    memset(id, t, 16);
    osp_aicall_query q = {.trace_id = id, .with_text = 1};
    assert_int_equal(osp_aicalls_select(s, &q, arena, out, &n), 0);
    return n;
}

/* The path of the first segment written today under dir/aicalls. */
static void seg_path(const char *dir, char *out, size_t n)
{
    char root[1024];
    snprintf(root, sizeof root, "%s/aicalls", dir);
    char *p = osp_partdir_path(root, (uint32_t)(osp_clock_ns(CLOCK_REALTIME) / DAY_NS), 1, 0);
    assert_non_null(p);
    snprintf(out, n, "%s", p);
    osp_free(p);
}

static size_t quarantined(const char *dir)
{
    char cmd[1200], line[64];
    snprintf(cmd, sizeof cmd, "ls '%s/aicalls/quarantine' | wc -l", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    pclose(f);
    return (size_t)atoi(line);
}

static void test_round_trip(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("aicalls");
    char big[OSP_AICALL_MAX_TEXT + 8];
    osp_aicall calls[3];
    /* A text past the limit whose cut falls inside a 3-byte character. */
    memset(big, 'x', sizeof big);
    memcpy(big + OSP_AICALL_MAX_TEXT - 1, "\xe2\x82\xac", 3);
    for (int i = 0; i < 3; i++)
        calls[i] = make_call(i, 0xA1, big, i == 2 ? sizeof big : 5);
    osp_aicalls *s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_append(s, calls, 3), 0);
    osp_aicalls_close(s);
    s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_count(s), 3);
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    osp_aicall *got;
    assert_int_equal(select_trace(s, 0xA1, &arena, &got), 3);
    for (int i = 0; i < 3; i++)
        assert_call(&got[i], &calls[i]);
    assert_int_equal(got[2].input_text.n, OSP_AICALL_MAX_TEXT - 1); /* cut before the euro */
    /* By session, user and agent; without texts. */
    size_t n;
    osp_aicall_query q = {.session = osp_str_c("s-2")};
    assert_int_equal(osp_aicalls_select(s, &q, &arena, &got, &n), 0);
    assert_int_equal(n, 3); /* the whole trace of a session's record */
    assert_int_equal(got[0].input_text.n, 0);
    q = (osp_aicall_query){.user = osp_str_c("alice")};
    assert_int_equal(osp_aicalls_select(s, &q, &arena, &got, &n), 0);
    assert_int_equal(n, 3);
    q = (osp_aicall_query){.agent = osp_str_c("nobody")};
    assert_int_equal(osp_aicalls_select(s, &q, &arena, &got, &n), 0);
    assert_int_equal(n, 0);
    q = (osp_aicall_query){.max_records = 2};
    assert_int_equal(osp_aicalls_select(s, &q, &arena, &got, &n), OSP_ETOOBIG);
    /* The time range selects traces whose records reach into it. */
    q = (osp_aicall_query){.start_ns = calls[2].start_ns + 1};
    assert_int_equal(osp_aicalls_select(s, &q, &arena, &got, &n), 0);
    assert_int_equal(n, 0);
    q = (osp_aicall_query){.start_ns = calls[1].start_ns, .end_ns = calls[1].start_ns};
    assert_int_equal(osp_aicalls_select(s, &q, &arena, &got, &n), 0);
    assert_int_equal(n, 3);
    osp_arena_cleanup(&arena);
    osp_aicalls_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

/* Two appends to the same segment, the second damaged by how: the first survives. */
static void damaged(void (*damage)(const char *path, size_t first_len))
{
    char *dir = osp_test_tmpdir("aicalls");
    char path[1024];
    osp_aicall calls[4];
    osp_buf enc;
    for (int i = 0; i < 4; i++)
        calls[i] = make_call(i, (uint8_t)(0xB0 + i), "hello", 5);
    osp_buf_init(&enc, 0);
    assert_int_equal(osp_aicseg_encode(&calls[0], &enc), 0);
    osp_aicalls *s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_append(s, calls, 1), 0);
    assert_int_equal(osp_aicalls_append(s, calls + 1, 3), 0);
    osp_aicalls_close(s);
    seg_path(dir, path, sizeof path);
    damage(path, enc.len);
    s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_count(s), 1);
    assert_int_equal(quarantined(dir), 1);
    osp_arena arena;
    osp_arena_init(&arena, 0, 0);
    osp_aicall *got;
    assert_int_equal(select_trace(s, 0xB0, &arena, &got), 1); /* texts still readable */
    assert_call(&got[0], &calls[0]);
    /* New records go to a new segment and survive a reopen. */
    assert_int_equal(osp_aicalls_append(s, calls + 3, 1), 0);
    osp_aicalls_close(s);
    s = open_dir(dir, 0);
    assert_int_equal(osp_aicalls_count(s), 2);
    assert_int_equal(select_trace(s, 0xB3, &arena, &got), 1);
    assert_call(&got[0], &calls[3]);
    osp_arena_cleanup(&arena);
    osp_buf_cleanup(&enc);
    osp_aicalls_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

static void cut_second(const char *path, size_t first_len)
{
    /* Leaves the second record torn after a few bytes. */
    osp_test_run("truncate -s %zu '%s'", OSP_AICSEG_HEADER_SIZE + first_len + 20, path);
}

static void flip_second(const char *path, size_t first_len)
{
    osp_test_flip_byte(path, (off_t)(OSP_AICSEG_HEADER_SIZE + first_len + 60), 0x40);
}

static void test_truncated(void **state)
{
    (void)state;
    damaged(cut_second);
}

static void test_corrupted(void **state)
{
    (void)state;
    damaged(flip_second);
}

static void test_retention(void **state)
{
    (void)state;
    char *dir = osp_test_tmpdir("aicalls");
    osp_aicall calls[2] = {make_call(0, 0xC0, "a", 1), make_call(1, 0xC1, "b", 1)};
    osp_aicalls *s = open_dir(dir, DAY_NS);
    assert_int_equal(osp_aicalls_append(s, calls, 2), 0);
    uint64_t now = osp_clock_ns(CLOCK_REALTIME);
    assert_int_equal(osp_aicalls_maintain(s, now), 0); /* today stays */
    assert_int_equal(osp_aicalls_count(s), 2);
    assert_int_equal(osp_aicalls_maintain(s, now + 3 * DAY_NS), 0);
    assert_int_equal(osp_aicalls_count(s), 0);
    /* Appending after the drop starts a new segment. */
    assert_int_equal(osp_aicalls_append(s, calls, 1), 0);
    assert_int_equal(osp_aicalls_count(s), 1);
    osp_aicalls_close(s);
    s = open_dir(dir, DAY_NS);
    assert_int_equal(osp_aicalls_count(s), 1);
    osp_aicalls_close(s);
    osp_test_rmdir(dir);
    free(dir);
}

static void test_decode_rejects(void **state)
{
    (void)state;
    osp_aicall a = make_call(0, 0xD0, "t", 1), b;
    osp_buf enc;
    size_t used;
    osp_buf_init(&enc, 0);
    assert_int_equal(osp_aicseg_encode(&a, &enc), 0);
    uint8_t *p = (uint8_t *)enc.data;
    assert_int_equal(osp_aicseg_decode(p, enc.len, &b, &used), 0);
    assert_int_equal(used, enc.len);
    for (size_t n = 0; n < enc.len; n++) /* every prefix is incomplete */
        assert_int_equal(osp_aicseg_decode(p, n, &b, &used), OSP_EAGAIN);
    p[OSP_AICSEG_FRAME_SIZE + 112] = 99; /* a type past the last */
    assert_int_equal(osp_aicseg_decode(p, enc.len, &b, &used), OSP_ECORRUPT);
    p[0] = 1; /* a length below the fixed part */
    assert_int_equal(osp_aicseg_decode(p, enc.len, &b, &used), OSP_ECORRUPT);
    uint8_t h[OSP_AICSEG_HEADER_SIZE];
    osp_aicseg_header(h);
    assert_int_equal(osp_aicseg_check_header(h, sizeof h), 0);
    h[3] ^= 1;
    assert_int_equal(osp_aicseg_check_header(h, sizeof h), OSP_ECORRUPT);
    osp_buf_cleanup(&enc);
}

int main(void)
{

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),     cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupted),      cmocka_unit_test(test_retention),
        cmocka_unit_test(test_decode_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
